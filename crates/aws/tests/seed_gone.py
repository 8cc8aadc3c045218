"""Seeds a moto server started with INITIAL_NO_AUTH_ACTION_COUNT (IAM authorization enforced
after that many requests) for the second-scan test in crates/cli/tests/jobs.rs.

Creates two users with access keys: `scanner` may do everything; `auditor` may do everything but
`ec2:DescribeVolumes`. Creates two queues and a volume, then spends the remaining
unauthenticated requests until moto enforces authorization. Prints both key pairs and the ids."""
import json
import os

import boto3
import botocore.exceptions

R = "us-east-1"
kw = dict(region_name=R, endpoint_url=os.environ["AWS_ENDPOINT_URL"],
          aws_access_key_id="testing", aws_secret_access_key="testing")
iam = boto3.client("iam", **kw)
ec2 = boto3.client("ec2", **kw)
sqs = boto3.client("sqs", **kw)

out = {}
for user, deny in [("scanner", []), ("auditor", ["ec2:DescribeVolumes"])]:
    iam.create_user(UserName=user)
    statements = [{"Effect": "Allow", "Action": "*", "Resource": "*"}]
    if deny:
        statements.append({"Effect": "Deny", "Action": deny, "Resource": "*"})
    iam.put_user_policy(UserName=user, PolicyName="scan", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": statements}))
    key = iam.create_access_key(UserName=user)["AccessKey"]
    out[user] = {"accessKeyId": key["AccessKeyId"], "secretAccessKey": key["SecretAccessKey"]}
out["volume"] = ec2.create_volume(AvailabilityZone=R + "a", Size=8)["VolumeId"]
for name in ["doomed-queue", "kept-queue"]:
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    out[name] = {"url": url, "arn": sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]}

for spent in range(1000):
    try:
        iam.list_users()
    except botocore.exceptions.ClientError as e:
        out["authFrom"] = e.response["Error"]["Code"]
        break
else:
    raise SystemExit("moto never enforced authorization: is INITIAL_NO_AUTH_ACTION_COUNT set?")
print(json.dumps(out))
