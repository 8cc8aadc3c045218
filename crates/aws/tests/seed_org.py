"""Seeds a moto server with an AWS organization for crates/aws/tests/moto.rs: the caller's
account (123456789012) is the management account, with three member accounts; one of them is
suspended (closed). Prints the member account ids as JSON.
"""
import json
import os

import boto3

kw = dict(region_name="us-east-1", endpoint_url=os.environ["AWS_ENDPOINT_URL"],
          aws_access_key_id="testing", aws_secret_access_key="testing")
org = boto3.client("organizations", **kw)
org.create_organization(FeatureSet="ALL")
ids = []
for name in ["prod", "staging", "sandbox", "closed"]:
    status = org.create_account(AccountName=name, Email=f"{name}@example.com")["CreateAccountStatus"]
    ids.append(status["AccountId"])
org.close_account(AccountId=ids[3])
# A service control policy denying S3 to the workloads OU, which holds prod.
root = org.list_roots()["Roots"][0]["Id"]
ou = org.create_organizational_unit(ParentId=root, Name="workloads")["OrganizationalUnit"]["Id"]
org.move_account(AccountId=ids[0], SourceParentId=root, DestinationParentId=ou)
scp = org.create_policy(
    Name="no-s3", Description="deny S3", Type="SERVICE_CONTROL_POLICY",
    Content=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Deny", "Action": "s3:*", "Resource": "*"}]}),
)["Policy"]["PolicySummary"]["Id"]
org.attach_policy(PolicyId=scp, TargetId=ou)
print(json.dumps({"prod": ids[0], "staging": ids[1], "sandbox": ids[2], "closed": ids[3],
                  "scp": scp}))
