#!/usr/bin/env python3
"""Seeds a moto server with a synthetic AWS account for scripts/bench-aws.

    AWS_ENDPOINT_URL=http://127.0.0.1:PORT python bench-aws-seed.py [SCALE]

SCALE (default 1) multiplies every count; SCALE 1 creates about 600 resources in us-east-1
across IAM, S3, EC2/VPC, KMS, CloudTrail, CloudWatch Logs, SNS, SQS, DynamoDB and RDS, with a mix
of good and bad settings so that both tools have findings to report. Deterministic (no random
draws). Prints a JSON object with the number of resources created per kind and in total.
"""
import json
import os
import sys

import boto3

R = "us-east-1"
SCALE = int(sys.argv[1]) if len(sys.argv) > 1 else 1
kw = dict(region_name=R, endpoint_url=os.environ["AWS_ENDPOINT_URL"],
          aws_access_key_id="testing", aws_secret_access_key="testing")
iam = boto3.client("iam", **kw)
s3 = boto3.client("s3", **kw)
ec2 = boto3.client("ec2", **kw)
kms = boto3.client("kms", **kw)
ct = boto3.client("cloudtrail", **kw)
logs = boto3.client("logs", **kw)
sns = boto3.client("sns", **kw)
sqs = boto3.client("sqs", **kw)
ddb = boto3.client("dynamodb", **kw)
rds = boto3.client("rds", **kw)
count = {}


def n(kind, k=1):
    count[kind] = count.get(kind, 0) + k


def doc(statements):
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


# IAM: groups, customer policies, users (half with an access key, some in the admin group), roles.
iam.update_account_password_policy(MinimumPasswordLength=8)
admin = iam.create_policy(PolicyName="bench-admin", PolicyDocument=doc(
    [{"Effect": "Allow", "Action": "*", "Resource": "*"}]))["Policy"]["Arn"]
n("iam policy")
for i in range(10 * SCALE):
    iam.create_policy(PolicyName=f"bench-read-{i:03d}", PolicyDocument=doc(
        [{"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": f"arn:aws:s3:::bench-bucket-{i:03d}/*"}]))
    n("iam policy")
for g in ("admins", "developers", "auditors"):
    iam.create_group(GroupName=g)
    n("iam group")
iam.attach_group_policy(GroupName="admins", PolicyArn=admin)
for i in range(80 * SCALE):
    name = f"bench-user-{i:03d}"
    iam.create_user(UserName=name)
    iam.add_user_to_group(GroupName=["admins", "developers", "auditors"][i % 3], UserName=name)
    if i % 2 == 0:
        iam.create_access_key(UserName=name)
    if i % 10 == 0:
        iam.put_user_policy(UserName=name, PolicyName="inline", PolicyDocument=doc(
            [{"Effect": "Allow", "Action": "iam:*", "Resource": "*"}]))
    n("iam user")
trust = doc([{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}])
for i in range(40 * SCALE):
    iam.create_role(RoleName=f"bench-role-{i:03d}", AssumeRolePolicyDocument=trust)
    if i % 8 == 0:
        iam.attach_role_policy(RoleName=f"bench-role-{i:03d}", PolicyArn=admin)
    n("iam role")

# KMS: keys, half rotated.
keys = []
for i in range(20 * SCALE):
    k = kms.create_key(Description=f"bench key {i}")["KeyMetadata"]["Arn"]
    if i % 2 == 0:
        kms.enable_key_rotation(KeyId=k)
    keys.append(k)
    n("kms key")

# S3: buckets with a mix of encryption, versioning, public access blocks, TLS-only policies, logging.
s3.create_bucket(Bucket="bench-access-logs")
s3.put_bucket_acl(Bucket="bench-access-logs", ACL="log-delivery-write")
n("s3 bucket")
for i in range(60 * SCALE):
    b = f"bench-bucket-{i:03d}"
    s3.create_bucket(Bucket=b)
    if i % 2 == 0:
        s3.put_bucket_versioning(Bucket=b, VersioningConfiguration={"Status": "Enabled"})
    if i % 3 == 0:
        s3.put_bucket_encryption(Bucket=b, ServerSideEncryptionConfiguration={"Rules": [
            {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": keys[i % len(keys)]}}]})
    if i % 4 != 0:
        s3.put_public_access_block(Bucket=b, PublicAccessBlockConfiguration={
            "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True})
    if i % 5 == 0:
        s3.put_bucket_policy(Bucket=b, Policy=doc([{"Effect": "Deny", "Principal": "*", "Action": "s3:*",
                                                    "Resource": [f"arn:aws:s3:::{b}", f"arn:aws:s3:::{b}/*"],
                                                    "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]))
    if i % 6 == 0:
        s3.put_bucket_logging(Bucket=b, BucketLoggingStatus={"LoggingEnabled": {
            "TargetBucket": "bench-access-logs", "TargetPrefix": b + "/"}})
    n("s3 bucket")

# EC2 / VPC: VPCs with subnets, an internet gateway and a route table; security groups (some open
# to the world on SSH or RDP); instances (some with IMDSv1) with an extra volume each.
subnets, groups = [], []
for v in range(4 * SCALE):
    vpc = ec2.create_vpc(CidrBlock=f"10.{v}.0.0/16")["Vpc"]["VpcId"]
    n("ec2 vpc")
    igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
    rtb = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    ec2.create_route(RouteTableId=rtb, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)
    n("ec2 internet gateway")
    n("ec2 route table")
    if v % 2 == 0:
        ec2.create_flow_logs(ResourceIds=[vpc], ResourceType="VPC", TrafficType="ALL",
                             LogDestinationType="s3", LogDestination="arn:aws:s3:::bench-access-logs")
    for s in range(4):
        sub = ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.{v}.{s}.0/24")["Subnet"]["SubnetId"]
        ec2.associate_route_table(RouteTableId=rtb, SubnetId=sub)
        subnets.append(sub)
        n("ec2 subnet")
    for g in range(10):
        sg = ec2.create_security_group(GroupName=f"bench-sg-{v}-{g}", Description="bench", VpcId=vpc)["GroupId"]
        port = [22, 3389, 443, 5432][g % 4]
        cidr = "0.0.0.0/0" if g % 3 == 0 else "10.0.0.0/8"
        ec2.authorize_security_group_ingress(GroupId=sg, IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": port, "ToPort": port, "IpRanges": [{"CidrIp": cidr}]}])
        groups.append(sg)
        n("ec2 security group")
for i in range(40 * SCALE):
    inst = ec2.run_instances(ImageId="ami-12345678", MinCount=1, MaxCount=1, InstanceType="t3.micro",
                             SubnetId=subnets[i % len(subnets)], SecurityGroupIds=[groups[i % len(groups)]],
                             MetadataOptions={"HttpTokens": "required" if i % 2 else "optional", "HttpEndpoint": "enabled"})
    iid = inst["Instances"][0]["InstanceId"]
    vol = ec2.create_volume(AvailabilityZone=R + "a", Size=8, Encrypted=i % 3 == 0)["VolumeId"]
    ec2.attach_volume(VolumeId=vol, InstanceId=iid, Device="/dev/sdf")
    n("ec2 instance")
    n("ec2 volume", 2)  # the extra volume and the root volume

# CloudTrail into a log group with two CIS metric filters; SNS topics with subscriptions.
logs.create_log_group(logGroupName="bench-trail")
n("logs log group")
ct.create_trail(Name="bench-trail", S3BucketName="bench-access-logs", IsMultiRegionTrail=True,
                EnableLogFileValidation=True,
                CloudWatchLogsLogGroupArn=f"arn:aws:logs:{R}:123456789012:log-group:bench-trail:*",
                CloudWatchLogsRoleArn="arn:aws:iam::123456789012:role/bench-role-000")
ct.start_logging(Name="bench-trail")
n("cloudtrail trail")
for name, pattern in [("RootUsage", '{ $.userIdentity.type = "Root" && $.userIdentity.invokedBy NOT EXISTS && $.eventType != "AwsServiceEvent" }'),
                      ("ConsoleAuthFailures", '{ ($.eventName = ConsoleLogin) && ($.errorMessage = "Failed authentication") }')]:
    logs.put_metric_filter(logGroupName="bench-trail", filterName=name, filterPattern=pattern,
                           metricTransformations=[{"metricName": name, "metricNamespace": "CIS", "metricValue": "1"}])
    n("logs metric filter")
for i in range(20 * SCALE):
    logs.create_log_group(logGroupName=f"bench-app-{i:03d}")
    if i % 2 == 0:
        logs.put_retention_policy(logGroupName=f"bench-app-{i:03d}", retentionInDays=365)
    n("logs log group")
for i in range(15 * SCALE):
    attrs = {"KmsMasterKeyId": keys[i % len(keys)]} if i % 2 == 0 else {}
    topic = sns.create_topic(Name=f"bench-topic-{i:03d}", Attributes=attrs)["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="email", Endpoint=f"ops{i}@example.com")
    n("sns topic")
    n("sns subscription")

# SQS queues, DynamoDB tables, RDS instances.
for i in range(30 * SCALE):
    attrs = {"KmsMasterKeyId": keys[i % len(keys)]} if i % 2 == 0 else {"SqsManagedSseEnabled": "false"}
    sqs.create_queue(QueueName=f"bench-queue-{i:03d}", Attributes=attrs)
    n("sqs queue")
for i in range(20 * SCALE):
    t = f"bench-table-{i:03d}"
    ddb.create_table(TableName=t, BillingMode="PAY_PER_REQUEST",
                     AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                     KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}])
    if i % 2 == 0:
        ddb.update_continuous_backups(TableName=t, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True})
    n("dynamodb table")
for i in range(8 * SCALE):
    rds.create_db_instance(DBInstanceIdentifier=f"bench-db-{i:03d}", DBInstanceClass="db.t3.micro", Engine="postgres",
                           MasterUsername="bench", MasterUserPassword="bench-password-1", AllocatedStorage=20,
                           PubliclyAccessible=i % 4 == 0, StorageEncrypted=i % 2 == 0,
                           BackupRetentionPeriod=7 if i % 3 else 0)
    n("rds db instance")

print(json.dumps({"total": sum(count.values()), "by_kind": count}))
