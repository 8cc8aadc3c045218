//! Every AWS API operation the collector calls, with the IAM actions it needs.
//!
//! `tests/operations.rs` checks this list against the source (every SDK operation called in
//! `src/` is listed, and every listed one is called) and against the onboarding templates in
//! `deploy/aws/` (each action is granted by both the CloudFormation and the Terraform role).
//! `sts:GetCallerIdentity` needs no permission and `sts:AssumeRole` is the caller's, not the
//! role's: they are not listed.

/// (SDK client method, IAM actions it needs).
pub const OPERATIONS: &[(&str, &[&str])] = &[
    // IAM (global)
    (
        "generate_credential_report",
        &["iam:GenerateCredentialReport"],
    ),
    ("get_credential_report", &["iam:GetCredentialReport"]),
    ("list_users", &["iam:ListUsers"]),
    ("get_user", &["iam:GetUser"]),
    ("list_groups_for_user", &["iam:ListGroupsForUser"]),
    (
        "list_attached_user_policies",
        &["iam:ListAttachedUserPolicies"],
    ),
    ("list_user_policies", &["iam:ListUserPolicies"]),
    ("get_user_policy", &["iam:GetUserPolicy"]),
    ("list_access_keys", &["iam:ListAccessKeys"]),
    ("get_access_key_last_used", &["iam:GetAccessKeyLastUsed"]),
    ("list_groups", &["iam:ListGroups"]),
    (
        "list_attached_group_policies",
        &["iam:ListAttachedGroupPolicies"],
    ),
    ("list_group_policies", &["iam:ListGroupPolicies"]),
    ("get_group_policy", &["iam:GetGroupPolicy"]),
    ("list_roles", &["iam:ListRoles"]),
    ("get_role", &["iam:GetRole"]),
    (
        "list_attached_role_policies",
        &["iam:ListAttachedRolePolicies"],
    ),
    (
        "list_instance_profiles_for_role",
        &["iam:ListInstanceProfilesForRole"],
    ),
    ("list_role_policies", &["iam:ListRolePolicies"]),
    ("get_role_policy", &["iam:GetRolePolicy"]),
    ("list_policies", &["iam:ListPolicies"]),
    ("get_policy_version", &["iam:GetPolicyVersion"]),
    ("list_instance_profiles", &["iam:ListInstanceProfiles"]),
    (
        "get_account_password_policy",
        &["iam:GetAccountPasswordPolicy"],
    ),
    ("get_account_summary", &["iam:GetAccountSummary"]),
    ("list_virtual_mfa_devices", &["iam:ListVirtualMFADevices"]),
    ("list_server_certificates", &["iam:ListServerCertificates"]),
    ("list_saml_providers", &["iam:ListSAMLProviders"]),
    (
        "list_open_id_connect_providers",
        &["iam:ListOpenIDConnectProviders"],
    ),
    ("list_account_aliases", &["iam:ListAccountAliases"]),
    ("list_entities_for_policy", &["iam:ListEntitiesForPolicy"]),
    // S3 (bucket calls) and S3 Control (account Block Public Access) share a method name.
    ("list_buckets", &["s3:ListAllMyBuckets"]),
    ("get_bucket_location", &["s3:GetBucketLocation"]),
    (
        "get_public_access_block",
        &[
            "s3:GetBucketPublicAccessBlock",
            "s3:GetAccountPublicAccessBlock",
        ],
    ),
    ("get_bucket_policy", &["s3:GetBucketPolicy"]),
    ("get_bucket_policy_status", &["s3:GetBucketPolicyStatus"]),
    ("get_bucket_encryption", &["s3:GetEncryptionConfiguration"]),
    ("get_bucket_versioning", &["s3:GetBucketVersioning"]),
    ("get_bucket_logging", &["s3:GetBucketLogging"]),
    ("get_bucket_acl", &["s3:GetBucketAcl"]),
    ("get_bucket_tagging", &["s3:GetBucketTagging"]),
    (
        "get_bucket_lifecycle_configuration",
        &["s3:GetLifecycleConfiguration"],
    ),
    (
        "get_object_lock_configuration",
        &["s3:GetBucketObjectLockConfiguration"],
    ),
    // EC2 / VPC
    ("describe_regions", &["ec2:DescribeRegions"]),
    ("describe_instances", &["ec2:DescribeInstances"]),
    ("describe_security_groups", &["ec2:DescribeSecurityGroups"]),
    ("describe_network_acls", &["ec2:DescribeNetworkAcls"]),
    ("describe_vpcs", &["ec2:DescribeVpcs"]),
    ("describe_flow_logs", &["ec2:DescribeFlowLogs"]),
    ("describe_subnets", &["ec2:DescribeSubnets"]),
    ("describe_route_tables", &["ec2:DescribeRouteTables"]),
    (
        "describe_internet_gateways",
        &["ec2:DescribeInternetGateways"],
    ),
    ("describe_nat_gateways", &["ec2:DescribeNatGateways"]),
    ("describe_volumes", &["ec2:DescribeVolumes"]),
    ("describe_snapshots", &["ec2:DescribeSnapshots"]),
    (
        "describe_snapshot_attribute",
        &["ec2:DescribeSnapshotAttribute"],
    ),
    ("describe_images", &["ec2:DescribeImages"]),
    ("describe_image_attribute", &["ec2:DescribeImageAttribute"]),
    (
        "describe_network_interfaces",
        &["ec2:DescribeNetworkInterfaces"],
    ),
    ("describe_addresses", &["ec2:DescribeAddresses"]),
    ("describe_vpc_endpoints", &["ec2:DescribeVpcEndpoints"]),
    (
        "describe_vpc_peering_connections",
        &["ec2:DescribeVpcPeeringConnections"],
    ),
    (
        "get_ebs_encryption_by_default",
        &["ec2:GetEbsEncryptionByDefault"],
    ),
    ("get_ebs_default_kms_key_id", &["ec2:GetEbsDefaultKmsKeyId"]),
    // KMS
    ("list_keys", &["kms:ListKeys"]),
    ("describe_key", &["kms:DescribeKey"]),
    ("get_key_rotation_status", &["kms:GetKeyRotationStatus"]),
    ("get_key_policy", &["kms:GetKeyPolicy"]),
    // CloudTrail, CloudWatch Logs, CloudWatch, SNS
    ("describe_trails", &["cloudtrail:DescribeTrails"]),
    ("get_trail_status", &["cloudtrail:GetTrailStatus"]),
    ("get_event_selectors", &["cloudtrail:GetEventSelectors"]),
    ("describe_log_groups", &["logs:DescribeLogGroups"]),
    ("describe_metric_filters", &["logs:DescribeMetricFilters"]),
    ("describe_alarms", &["cloudwatch:DescribeAlarms"]),
    ("list_topics", &["sns:ListTopics"]),
    ("get_topic_attributes", &["sns:GetTopicAttributes"]),
    ("list_subscriptions", &["sns:ListSubscriptions"]),
    // RDS, EFS, Config, Access Analyzer, Security Hub
    ("describe_db_instances", &["rds:DescribeDBInstances"]),
    ("describe_db_clusters", &["rds:DescribeDBClusters"]),
    ("describe_db_snapshots", &["rds:DescribeDBSnapshots"]),
    (
        "describe_db_snapshot_attributes",
        &["rds:DescribeDBSnapshotAttributes"],
    ),
    (
        "describe_db_cluster_snapshots",
        &["rds:DescribeDBClusterSnapshots"],
    ),
    (
        "describe_db_cluster_snapshot_attributes",
        &["rds:DescribeDBClusterSnapshotAttributes"],
    ),
    (
        "describe_file_systems",
        &["elasticfilesystem:DescribeFileSystems"],
    ),
    (
        "describe_backup_policy",
        &["elasticfilesystem:DescribeBackupPolicy"],
    ),
    (
        "describe_configuration_recorders",
        &["config:DescribeConfigurationRecorders"],
    ),
    (
        "describe_configuration_recorder_status",
        &["config:DescribeConfigurationRecorderStatus"],
    ),
    (
        "describe_delivery_channels",
        &["config:DescribeDeliveryChannels"],
    ),
    ("list_analyzers", &["access-analyzer:ListAnalyzers"]),
    ("describe_hub", &["securityhub:DescribeHub"]),
    // Lambda, ELBv2, ACM, Secrets Manager (metadata only), EKS, ECR, DynamoDB, SQS, GuardDuty
    ("list_functions", &["lambda:ListFunctions"]),
    ("get_policy", &["lambda:GetPolicy"]),
    (
        "list_function_url_configs",
        &["lambda:ListFunctionUrlConfigs"],
    ),
    (
        "describe_load_balancers",
        &["elasticloadbalancing:DescribeLoadBalancers"],
    ),
    (
        "describe_load_balancer_attributes",
        &["elasticloadbalancing:DescribeLoadBalancerAttributes"],
    ),
    (
        "describe_listeners",
        &["elasticloadbalancing:DescribeListeners"],
    ),
    ("list_certificates", &["acm:ListCertificates"]),
    ("describe_certificate", &["acm:DescribeCertificate"]),
    ("list_secrets", &["secretsmanager:ListSecrets"]),
    ("get_resource_policy", &["secretsmanager:GetResourcePolicy"]),
    ("list_clusters", &["eks:ListClusters"]),
    ("describe_cluster", &["eks:DescribeCluster"]),
    ("describe_repositories", &["ecr:DescribeRepositories"]),
    ("get_repository_policy", &["ecr:GetRepositoryPolicy"]),
    ("list_tables", &["dynamodb:ListTables"]),
    ("describe_table", &["dynamodb:DescribeTable"]),
    (
        "describe_continuous_backups",
        &["dynamodb:DescribeContinuousBackups"],
    ),
    ("list_queues", &["sqs:ListQueues"]),
    ("get_queue_attributes", &["sqs:GetQueueAttributes"]),
    ("list_detectors", &["guardduty:ListDetectors"]),
    ("get_detector", &["guardduty:GetDetector"]),
    // AWS Organizations (global)
    (
        "describe_organization",
        &["organizations:DescribeOrganization"],
    ),
    ("list_accounts", &["organizations:ListAccounts"]),
    ("list_policies", &["organizations:ListPolicies"]),
    ("describe_policy", &["organizations:DescribePolicy"]),
    (
        "list_targets_for_policy",
        &["organizations:ListTargetsForPolicy"],
    ),
    (
        "list_accounts_for_parent",
        &["organizations:ListAccountsForParent"],
    ),
    (
        "list_organizational_units_for_parent",
        &["organizations:ListOrganizationalUnitsForParent"],
    ),
];

/// Every IAM action the collector needs, sorted, without duplicates.
pub fn actions() -> Vec<&'static str> {
    let mut out: Vec<&'static str> = OPERATIONS
        .iter()
        .flat_map(|(_, actions)| actions.iter().copied())
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}
