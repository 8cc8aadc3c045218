"""Seeds a moto server started with INITIAL_NO_AUTH_ACTION_COUNT (IAM authorization enforced
after that many requests) for the access-denied test in crates/aws/tests/moto.rs.

Creates an `auditor` user whose policy allows everything but `ec2:DescribeVolumes` and
`s3:ListAllMyBuckets`, with an access key, and a few resources; then spends the remaining
unauthenticated requests until moto enforces authorization (a request with the unknown `testing`
key is refused). Prints the auditor's key pair and the ids created."""
import json
import os

import boto3
import botocore.exceptions

R = "us-east-1"
kw = dict(region_name=R, endpoint_url=os.environ["AWS_ENDPOINT_URL"],
          aws_access_key_id="testing", aws_secret_access_key="testing")
iam = boto3.client("iam", **kw)
ec2 = boto3.client("ec2", **kw)
s3 = boto3.client("s3", **kw)
sqs = boto3.client("sqs", **kw)

iam.create_user(UserName="auditor")
iam.put_user_policy(UserName="auditor", PolicyName="read-most", PolicyDocument=json.dumps({
    "Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "*", "Resource": "*"},
        {"Effect": "Deny", "Action": ["ec2:DescribeVolumes", "s3:ListAllMyBuckets"], "Resource": "*"}]}))
key = iam.create_access_key(UserName="auditor")["AccessKey"]
out = {"accessKeyId": key["AccessKeyId"], "secretAccessKey": key["SecretAccessKey"]}
out["instance"] = ec2.run_instances(ImageId="ami-12345678", MinCount=1, MaxCount=1,
                                    InstanceType="t3.micro")["Instances"][0]["InstanceId"]
out["volume"] = ec2.create_volume(AvailabilityZone=R + "a", Size=8)["VolumeId"]
s3.create_bucket(Bucket="denied-listing-bucket")
url = sqs.create_queue(QueueName="still-listed")["QueueUrl"]
out["queueArn"] = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]

# Use up the unauthenticated requests: from now on only the auditor's key is accepted.
for spent in range(1000):
    try:
        iam.list_users()
    except botocore.exceptions.ClientError as e:
        out["authFrom"] = e.response["Error"]["Code"]
        break
else:
    raise SystemExit("moto never enforced authorization: is INITIAL_NO_AUTH_ACTION_COUNT set?")
print(json.dumps(out))
