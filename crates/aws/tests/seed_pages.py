"""Seeds a moto server with more items than one page (page size 5) of the long listings, for the
pagination test in crates/aws/tests/moto.rs. Prints the names/ids created and, for each listing,
whether moto itself answered in several pages (so that the test proves something)."""
import json
import os

import boto3

R = "us-east-1"
kw = dict(region_name=R, endpoint_url=os.environ["AWS_ENDPOINT_URL"],
          aws_access_key_id="testing", aws_secret_access_key="testing")
iam = boto3.client("iam", **kw)
ec2 = boto3.client("ec2", **kw)
s3 = boto3.client("s3", **kw)
sqs = boto3.client("sqs", **kw)
logs = boto3.client("logs", **kw)
ddb = boto3.client("dynamodb", **kw)
trust = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
out = {"roles": [], "instances": [], "volumes": [], "buckets": [], "queues": [], "logGroups": [], "tables": []}
for i in range(12):
    out["roles"].append(iam.create_role(RoleName=f"paged-role-{i:02d}", AssumeRolePolicyDocument=trust)["Role"]["Arn"])
for i in range(7):
    r = ec2.run_instances(ImageId="ami-12345678", MinCount=1, MaxCount=1, InstanceType="t3.micro")
    out["instances"].append(r["Instances"][0]["InstanceId"])
    out["volumes"].append(ec2.create_volume(AvailabilityZone=R + "a", Size=1 + i)["VolumeId"])
    s3.create_bucket(Bucket=f"paged-bucket-{i:02d}")
    out["buckets"].append(f"paged-bucket-{i:02d}")
    url = sqs.create_queue(QueueName=f"paged-queue-{i:02d}")["QueueUrl"]
    out["queues"].append(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"])
    logs.create_log_group(logGroupName=f"paged-group-{i:02d}")
    out["logGroups"].append(f"paged-group-{i:02d}")
    t = ddb.create_table(TableName=f"paged-table-{i:02d}", BillingMode="PAY_PER_REQUEST",
                         AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                         KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}])
    out["tables"].append(t["TableDescription"]["TableArn"])

# Does moto split these listings into pages of 5?
out["paged"] = {
    "roles": iam.list_roles(MaxItems=5).get("IsTruncated", False),
    "instances": "NextToken" in ec2.describe_instances(MaxResults=5),
    "volumes": "NextToken" in ec2.describe_volumes(MaxResults=5),
    "buckets": "ContinuationToken" in s3.list_buckets(MaxBuckets=5),
    "queues": "NextToken" in sqs.list_queues(MaxResults=5),
    "logGroups": "nextToken" in logs.describe_log_groups(limit=5),
    "tables": "LastEvaluatedTableName" in ddb.list_tables(Limit=5),
}
print(json.dumps(out))
