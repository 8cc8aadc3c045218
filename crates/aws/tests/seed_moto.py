"""Seeds a moto server with one small estate for crates/aws/tests/moto.rs.

Run with the moto venv's python (it has boto3); AWS_ENDPOINT_URL points at the server.
Prints a JSON object with the ids the test asserts on.
"""
import io
import json
import os
import zipfile

import boto3

R = "us-east-1"
ep = os.environ["AWS_ENDPOINT_URL"]
kw = dict(region_name=R, endpoint_url=ep, aws_access_key_id="testing", aws_secret_access_key="testing")
iam = boto3.client("iam", **kw)
s3 = boto3.client("s3", **kw)
ec2 = boto3.client("ec2", **kw)
kms = boto3.client("kms", **kw)
ct = boto3.client("cloudtrail", **kw)
logs = boto3.client("logs", **kw)
cw = boto3.client("cloudwatch", **kw)
sns = boto3.client("sns", **kw)
rds = boto3.client("rds", **kw)
efs = boto3.client("efs", **kw)
out = {}

# IAM: 12 users (pagination with page size 5), a group with an admin policy, a role with an
# instance profile, inline policies, an access key, a password policy, a server certificate.
for i in range(12):
    iam.create_user(UserName=f"user{i:02d}")
iam.create_group(GroupName="admins")
iam.add_user_to_group(GroupName="admins", UserName="user00")
admin = iam.create_policy(PolicyName="admin-all", PolicyDocument=json.dumps(
    {"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"}}))
iam.attach_group_policy(GroupName="admins", PolicyArn=admin["Policy"]["Arn"])
iam.attach_user_policy(UserName="user01", PolicyArn=admin["Policy"]["Arn"])
iam.put_user_policy(UserName="user01", PolicyName="inline-s3", PolicyDocument=json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}))
key = iam.create_access_key(UserName="user01")
out["accessKeyId"] = key["AccessKey"]["AccessKeyId"]
role = iam.create_role(RoleName="app-role", AssumeRolePolicyDocument=json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}))
out["roleArn"] = role["Role"]["Arn"]
# A permission boundary (ListRoles does not return it: the collector asks GetRole).
iam.put_role_permissions_boundary(RoleName="app-role", PermissionsBoundary=admin["Policy"]["Arn"])
prof = iam.create_instance_profile(InstanceProfileName="app-profile")
iam.add_role_to_instance_profile(InstanceProfileName="app-profile", RoleName="app-role")
out["instanceProfileArn"] = prof["InstanceProfile"]["Arn"]
iam.update_account_password_policy(MinimumPasswordLength=8, RequireSymbols=False)

# KMS: a customer key without rotation.
k = kms.create_key(Description="data key")
out["kmsKeyArn"] = k["KeyMetadata"]["Arn"]

# S3: a log bucket and a data bucket (versioning, KMS encryption, public access block,
# policy, access logging into the log bucket).
s3.create_bucket(Bucket="rampart-logs")
s3.create_bucket(Bucket="rampart-data")
s3.put_bucket_versioning(Bucket="rampart-data", VersioningConfiguration={"Status": "Enabled"})
s3.put_bucket_encryption(Bucket="rampart-data", ServerSideEncryptionConfiguration={"Rules": [
    {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": out["kmsKeyArn"]}}]})
s3.put_public_access_block(Bucket="rampart-data", PublicAccessBlockConfiguration={
    "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True})
s3.put_bucket_policy(Bucket="rampart-data", Policy=json.dumps({"Version": "2012-10-17", "Statement": [
    {"Sid": "TLS", "Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "arn:aws:s3:::rampart-data/*",
     "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}))
s3.put_bucket_acl(Bucket="rampart-logs", ACL="log-delivery-write")
s3.put_bucket_logging(Bucket="rampart-data", BucketLoggingStatus={"LoggingEnabled": {
    "TargetBucket": "rampart-logs", "TargetPrefix": "data/"}})

# EC2 / VPC: a VPC with a subnet, an internet gateway routed from a route table, a security
# group open on SSH, an instance (IMDSv1 allowed, instance profile), an unencrypted volume.
vpc = ec2.create_vpc(CidrBlock="10.10.0.0/16")["Vpc"]["VpcId"]
subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.10.1.0/24")["Subnet"]["SubnetId"]
igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
rtb = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
ec2.create_route(RouteTableId=rtb, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)
ec2.associate_route_table(RouteTableId=rtb, SubnetId=subnet)
sg = ec2.create_security_group(GroupName="ssh-open", Description="ssh", VpcId=vpc)["GroupId"]
ec2.authorize_security_group_ingress(GroupId=sg, IpPermissions=[
    {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
# The subnet hands out public addresses, and the instance role is an administrator: together with
# SSH open to the world and IMDSv1 this is a toxic combination the graph controls must catch.
ec2.modify_subnet_attribute(SubnetId=subnet, MapPublicIpOnLaunch={"Value": True})
iam.attach_role_policy(RoleName="app-role", PolicyArn=admin["Policy"]["Arn"])
inst = ec2.run_instances(ImageId="ami-12345678", MinCount=1, MaxCount=1, InstanceType="t3.micro",
                         SubnetId=subnet, SecurityGroupIds=[sg],
                         IamInstanceProfile={"Arn": out["instanceProfileArn"]},
                         MetadataOptions={"HttpTokens": "optional", "HttpEndpoint": "enabled"})
instance = inst["Instances"][0]["InstanceId"]
vol = ec2.create_volume(AvailabilityZone=R + "a", Size=8, Encrypted=False)["VolumeId"]
ec2.attach_volume(VolumeId=vol, InstanceId=instance, Device="/dev/sdf")
out.update(vpc=vpc, subnet=subnet, igw=igw, rtb=rtb, sg=sg, instance=instance, volume=vol)

# CloudTrail into the log bucket and a log group with a CIS 4.3 metric filter, an alarm and an
# SNS topic with one subscription.
logs.create_log_group(logGroupName="trail-logs", kmsKeyId=out["kmsKeyArn"])
lg_arn = f"arn:aws:logs:{R}:123456789012:log-group:trail-logs:*"
trail = ct.create_trail(Name="main", S3BucketName="rampart-logs", IsMultiRegionTrail=True,
                        EnableLogFileValidation=True, CloudWatchLogsLogGroupArn=lg_arn,
                        CloudWatchLogsRoleArn=out["roleArn"])
ct.start_logging(Name="main")
ct.put_event_selectors(TrailName="main", EventSelectors=[
    {"ReadWriteType": "All", "IncludeManagementEvents": True, "DataResources": []}])
out["trailArn"] = trail["TrailARN"]
logs.put_metric_filter(logGroupName="trail-logs", filterName="root-usage",
                       filterPattern='{ $.userIdentity.type = "Root" && $.userIdentity.invokedBy NOT EXISTS && $.eventType != "AwsServiceEvent" }',
                       metricTransformations=[{"metricName": "RootUsage", "metricNamespace": "CIS", "metricValue": "1"}])
logs.put_retention_policy(logGroupName="trail-logs", retentionInDays=365)
logs.create_log_group(logGroupName="app-logs")
topic = sns.create_topic(Name="security-alerts", Attributes={"KmsMasterKeyId": out["kmsKeyArn"]})["TopicArn"]
sns.subscribe(TopicArn=topic, Protocol="email", Endpoint="sec@example.com")
sns.subscribe(TopicArn=topic, Protocol="https", Endpoint="https://hooks.example.com/services/T0/B0?token=s3cr3t-hook")
cw.put_metric_alarm(AlarmName="root-usage", MetricName="RootUsage", Namespace="CIS", Statistic="Sum",
                    Period=300, EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanOrEqualToThreshold",
                    AlarmActions=[topic])
out["topicArn"] = topic

# RDS: an unencrypted, public instance. EFS: an unencrypted file system.
rds.create_db_instance(DBInstanceIdentifier="orders", DBInstanceClass="db.t3.micro", Engine="postgres",
                       MasterUsername="admin", MasterUserPassword="password123", AllocatedStorage=20,
                       PubliclyAccessible=True, StorageEncrypted=False, BackupRetentionPeriod=0,
                       VpcSecurityGroupIds=[sg])
fs = efs.create_file_system(CreationToken="shared", Encrypted=False)
out["efs"] = fs["FileSystemId"]

# --- Lambda, ELBv2, ACM, Secrets Manager, EKS, ECR, DynamoDB, SQS, GuardDuty ---------------
lam = boto3.client("lambda", **kw)
elbv2 = boto3.client("elbv2", **kw)
acm = boto3.client("acm", **kw)
sm = boto3.client("secretsmanager", **kw)
eks = boto3.client("eks", **kw)
ecr = boto3.client("ecr", **kw)
ddb = boto3.client("dynamodb", **kw)
sqs = boto3.client("sqs", **kw)
gd = boto3.client("guardduty", **kw)

# Lambda: a function with an execution role, environment variables (whose values must never be
# collected), a public resource policy and a function URL without authentication.
fn_role = iam.create_role(RoleName="fn-role", AssumeRolePolicyDocument=json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}))
out["fnRoleArn"] = fn_role["Role"]["Arn"]
zip_buf = io.BytesIO()
with zipfile.ZipFile(zip_buf, "w") as z:
    z.writestr("app.py", "def handler(event, context):\n    return 1\n")
fn = lam.create_function(FunctionName="orders-api", Runtime="python3.12", Role=out["fnRoleArn"],
                         Handler="app.handler", Code={"ZipFile": zip_buf.getvalue()},
                         Environment={"Variables": {"DB_PASSWORD": "s3cr3t-env-value", "STAGE": "prod"}},
                         VpcConfig={"SubnetIds": [subnet], "SecurityGroupIds": [sg]})
out["functionArn"] = fn["FunctionArn"]
lam.add_permission(FunctionName="orders-api", StatementId="public", Action="lambda:InvokeFunctionUrl",
                   Principal="*", FunctionUrlAuthType="NONE")
lam.create_function_url_config(FunctionName="orders-api", AuthType="NONE")

# ACM: a requested certificate. ELBv2: an internet-facing application load balancer with the
# SSH security group, an HTTP listener and an HTTPS listener with that certificate.
cert = acm.request_certificate(DomainName="app.example.com", SubjectAlternativeNames=["www.example.com"])
out["certArn"] = cert["CertificateArn"]
subnet_b = ec2.create_subnet(VpcId=vpc, CidrBlock="10.10.2.0/24", AvailabilityZone=R + "b")["Subnet"]["SubnetId"]
lb = elbv2.create_load_balancer(Name="web", Subnets=[subnet, subnet_b], SecurityGroups=[sg],
                                Scheme="internet-facing", Type="application")["LoadBalancers"][0]
out["lbArn"] = lb["LoadBalancerArn"]
tg = elbv2.create_target_group(Name="web", Protocol="HTTP", Port=80, VpcId=vpc)["TargetGroups"][0]["TargetGroupArn"]
http = elbv2.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTP", Port=80,
                             DefaultActions=[{"Type": "forward", "TargetGroupArn": tg}])
https = elbv2.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTPS", Port=443,
                              SslPolicy="ELBSecurityPolicy-2016-08",
                              Certificates=[{"CertificateArn": out["certArn"]}],
                              DefaultActions=[{"Type": "forward", "TargetGroupArn": tg}])
out["httpListenerArn"] = http["Listeners"][0]["ListenerArn"]
out["httpsListenerArn"] = https["Listeners"][0]["ListenerArn"]

# Secrets Manager: a secret under the customer key, with a resource policy.
secret = sm.create_secret(Name="prod/db", SecretString="s3cr3t-secret-value", KmsKeyId=out["kmsKeyArn"])
out["secretArn"] = secret["ARN"]
sm.put_resource_policy(SecretId="prod/db", ResourcePolicy=json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"}, "Action": "secretsmanager:GetSecretValue", "Resource": "*"}]}))

# EKS: a cluster whose API endpoint is public to the world, secrets encrypted with the key.
cluster = eks.create_cluster(name="prod", roleArn=out["roleArn"], resourcesVpcConfig={
    "subnetIds": [subnet, subnet_b], "securityGroupIds": [sg], "endpointPublicAccess": True,
    "endpointPrivateAccess": False, "publicAccessCidrs": ["0.0.0.0/0"]},
    encryptionConfig=[{"resources": ["secrets"], "provider": {"keyArn": out["kmsKeyArn"]}}],
    logging={"clusterLogging": [{"types": ["api", "audit"], "enabled": True}]})
out["eksArn"] = cluster["cluster"]["arn"]

# ECR: a KMS-encrypted repository without scan on push and with a policy; a default one.
repo = ecr.create_repository(repositoryName="app", imageTagMutability="MUTABLE",
                             imageScanningConfiguration={"scanOnPush": False},
                             encryptionConfiguration={"encryptionType": "KMS", "kmsKey": out["kmsKeyArn"]})
out["repoArn"] = repo["repository"]["repositoryArn"]
ecr.set_repository_policy(repositoryName="app", policyText=json.dumps({"Version": "2012-10-17", "Statement": [
    {"Sid": "pull", "Effect": "Allow", "Principal": "*", "Action": ["ecr:BatchGetImage"]}]}))
repo2 = ecr.create_repository(repositoryName="base", imageTagMutability="IMMUTABLE",
                              imageScanningConfiguration={"scanOnPush": True})
out["repo2Arn"] = repo2["repository"]["repositoryArn"]

# DynamoDB: a KMS-encrypted table with PITR and deletion protection, and a plain one.
t1 = ddb.create_table(TableName="orders", BillingMode="PAY_PER_REQUEST",
                      AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                      KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                      SSESpecification={"Enabled": True, "SSEType": "KMS", "KMSMasterKeyId": out["kmsKeyArn"]},
                      DeletionProtectionEnabled=True)
out["tableArn"] = t1["TableDescription"]["TableArn"]
ddb.update_continuous_backups(TableName="orders", PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True})
t2 = ddb.create_table(TableName="sessions", BillingMode="PAY_PER_REQUEST",
                      AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                      KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}])
out["table2Arn"] = t2["TableDescription"]["TableArn"]

# SQS: a KMS-encrypted queue, and one without encryption and with a public policy.
q1 = sqs.create_queue(QueueName="jobs", Attributes={"KmsMasterKeyId": out["kmsKeyArn"]})["QueueUrl"]
q2 = sqs.create_queue(QueueName="events", Attributes={"SqsManagedSseEnabled": "false"})["QueueUrl"]
sqs.set_queue_attributes(QueueUrl=q2, Attributes={"Policy": json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": "*", "Action": "sqs:SendMessage", "Resource": "*"}]})})
out["queueArn"] = sqs.get_queue_attributes(QueueUrl=q1, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
out["queue2Arn"] = sqs.get_queue_attributes(QueueUrl=q2, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]

# GuardDuty: one enabled detector.
out["detectorId"] = gd.create_detector(Enable=True, FindingPublishingFrequency="FIFTEEN_MINUTES")["DetectorId"]

# --- EC2 extras: snapshots (one public), an AMI shared publicly, an elastic IP on the instance,
# a second network interface, a gateway endpoint with a policy, a peering connection routed from
# the route table.
snap_pub = ec2.create_snapshot(VolumeId=vol, Description="public")["SnapshotId"]
ec2.modify_snapshot_attribute(SnapshotId=snap_pub, Attribute="createVolumePermission",
                              OperationType="add", GroupNames=["all"])
snap_priv = ec2.create_snapshot(VolumeId=vol, Description="private")["SnapshotId"]
ami = ec2.create_image(InstanceId=instance, Name="app-image")["ImageId"]
ec2.modify_image_attribute(ImageId=ami, LaunchPermission={"Add": [{"Group": "all"}]})
eip = ec2.allocate_address(Domain="vpc")
ec2.associate_address(AllocationId=eip["AllocationId"], InstanceId=instance)
eni = ec2.create_network_interface(SubnetId=subnet, Groups=[sg], Description="extra")["NetworkInterface"]["NetworkInterfaceId"]
ec2.attach_network_interface(NetworkInterfaceId=eni, InstanceId=instance, DeviceIndex=1)
vpce = ec2.create_vpc_endpoint(VpcId=vpc, ServiceName=f"com.amazonaws.{R}.s3", RouteTableIds=[rtb],
                               PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
                                   {"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "*"}]}))["VpcEndpoint"]["VpcEndpointId"]
vpc2 = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
pcx = ec2.create_vpc_peering_connection(VpcId=vpc, PeerVpcId=vpc2)["VpcPeeringConnection"]["VpcPeeringConnectionId"]
ec2.accept_vpc_peering_connection(VpcPeeringConnectionId=pcx)
ec2.create_route(RouteTableId=rtb, DestinationCidrBlock="10.20.0.0/16", VpcPeeringConnectionId=pcx)
out.update(snapPublic=snap_pub, snapPrivate=snap_priv, ami=ami, eip=eip["AllocationId"], eipIp=eip["PublicIp"],
           eni=eni, vpce=vpce, vpc2=vpc2, pcx=pcx)

# --- S3 lifecycle and object lock; RDS snapshots (one public), a cluster and its snapshot ------
s3.put_bucket_lifecycle_configuration(Bucket="rampart-logs", LifecycleConfiguration={"Rules": [
    {"ID": "expire-logs", "Status": "Enabled", "Filter": {"Prefix": "data/"}, "Expiration": {"Days": 90},
     "Transitions": [{"Days": 30, "StorageClass": "GLACIER"}]}]})
s3.create_bucket(Bucket="rampart-locked", ObjectLockEnabledForBucket=True)
s3.put_object_lock_configuration(Bucket="rampart-locked", ObjectLockConfiguration={
    "ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 30}}})
dbsnap = rds.create_db_snapshot(DBSnapshotIdentifier="orders-manual", DBInstanceIdentifier="orders")["DBSnapshot"]
rds.modify_db_snapshot_attribute(DBSnapshotIdentifier="orders-manual", AttributeName="restore", ValuesToAdd=["all"])
out["dbSnapshotArn"] = dbsnap["DBSnapshotArn"]
cluster = rds.create_db_cluster(DBClusterIdentifier="analytics", Engine="aurora-postgresql",
                                MasterUsername="admin", MasterUserPassword="password123",
                                StorageEncrypted=True, KmsKeyId=out["kmsKeyArn"], VpcSecurityGroupIds=[sg],
                                DeletionProtection=True, BackupRetentionPeriod=7)["DBCluster"]
out["dbClusterArn"] = cluster["DBClusterArn"]
csnap = rds.create_db_cluster_snapshot(DBClusterSnapshotIdentifier="analytics-manual",
                                       DBClusterIdentifier="analytics")["DBClusterSnapshot"]
rds.modify_db_cluster_snapshot_attribute(DBClusterSnapshotIdentifier="analytics-manual", AttributeName="restore",
                                         ValuesToAdd=["111122223333"])
out["dbClusterSnapshotArn"] = csnap["DBClusterSnapshotArn"]

print(json.dumps(out))
