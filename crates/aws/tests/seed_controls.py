"""Seeds a moto server for crates/aws/tests/controls.rs: for each built-in AWS control the test
covers, one resource that passes it and one that fails it.

    seed_controls.py main     the resource pairs (`pass-*` / `fail-*`), and the main account's
                              account- and region-level settings (`main-*`)
    seed_controls.py second   a second, fresh server with the opposite account- and region-level
                              settings (`second-*`): moto holds one state of these per server

Run with the moto venv's python (it has boto3); AWS_ENDPOINT_URL points at the server (started
with MOTO_IAM_LOAD_MANAGED_POLICIES=true, for AWSSupportAccess). Prints one JSON object: label →
native id of the collected asset (its ARN, or the collector's id for account-level assets).

Where moto differs from AWS in a way that matters here, the seeding works around it (noted inline).
"""
import io
import json
import os
import sys
import zipfile

import boto3

R = "us-east-1"
ACCOUNT = "123456789012"
kw = dict(region_name=R, endpoint_url=os.environ["AWS_ENDPOINT_URL"],
          aws_access_key_id="testing", aws_secret_access_key="testing")
out = {}


def client(name):
    return boto3.client(name, **kw)


def doc(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(action, resource="*"):
    return {"Effect": "Allow", "Action": action, "Resource": resource}


def trust(service):
    return doc({"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"})


def ec2_arn(kind, id):
    return f"arn:aws:ec2:{R}:{ACCOUNT}:{kind}/{id}"


def account_labels(prefix):
    out[f"{prefix}-account"] = ACCOUNT
    out[f"{prefix}-region"] = f"{ACCOUNT}/{R}"
    out[f"{prefix}-password-policy"] = f"{ACCOUNT}/password-policy"


# The CIS AWS Foundations Benchmark (section 4) metric filter patterns.
CIS_FILTERS = {
    "unauthorized-api-calls": '{ ($.errorCode = "*UnauthorizedOperation") || ($.errorCode = "AccessDenied*") && '
                              '($.sourceIPAddress != "delivery.logs.amazonaws.com") && ($.eventName != "HeadBucket") }',
    "console-signin-without-mfa": '{ ($.eventName = "ConsoleLogin") && ($.additionalEventData.MFAUsed != "Yes") && '
                                  '($.userIdentity.type = "IAMUser") && ($.responseElements.ConsoleLogin = "Success") }',
    "root-account-usage": '{ $.userIdentity.type = "Root" && $.userIdentity.invokedBy NOT EXISTS && '
                          '$.eventType != "AwsServiceEvent" }',
    "iam-policy-changes": "{ " + " || ".join(f"($.eventName = {e})" for e in (
        "DeleteGroupPolicy", "DeleteRolePolicy", "DeleteUserPolicy", "PutGroupPolicy", "PutRolePolicy",
        "PutUserPolicy", "CreatePolicy", "DeletePolicy", "CreatePolicyVersion", "DeletePolicyVersion",
        "AttachRolePolicy", "DetachRolePolicy", "AttachUserPolicy", "DetachUserPolicy", "AttachGroupPolicy",
        "DetachGroupPolicy")) + " }",
    "cloudtrail-config-changes": "{ " + " || ".join(f"($.eventName = {e})" for e in (
        "CreateTrail", "UpdateTrail", "DeleteTrail", "StartLogging", "StopLogging")) + " }",
    "console-auth-failures": '{ ($.eventName = ConsoleLogin) && ($.errorMessage = "Failed authentication") }',
    "kms-key-disable-or-deletion": "{ ($.eventSource = kms.amazonaws.com) && "
                                   "(($.eventName = DisableKey) || ($.eventName = ScheduleKeyDeletion)) }",
    "s3-bucket-policy-changes": "{ ($.eventSource = s3.amazonaws.com) && (" + " || ".join(
        f"($.eventName = {e})" for e in (
            "PutBucketAcl", "PutBucketPolicy", "PutBucketCors", "PutBucketLifecycle", "PutBucketReplication",
            "DeleteBucketPolicy", "DeleteBucketCors", "DeleteBucketLifecycle", "DeleteBucketReplication")) + ") }",
    "aws-config-changes": "{ ($.eventSource = config.amazonaws.com) && (" + " || ".join(
        f"($.eventName = {e})" for e in (
            "StopConfigurationRecorder", "DeleteDeliveryChannel", "PutDeliveryChannel",
            "PutConfigurationRecorder")) + ") }",
    "security-group-changes": "{ " + " || ".join(f"($.eventName = {e})" for e in (
        "AuthorizeSecurityGroupIngress", "AuthorizeSecurityGroupEgress", "RevokeSecurityGroupIngress",
        "RevokeSecurityGroupEgress", "CreateSecurityGroup", "DeleteSecurityGroup")) + " }",
    "nacl-changes": "{ " + " || ".join(f"($.eventName = {e})" for e in (
        "CreateNetworkAcl", "CreateNetworkAclEntry", "DeleteNetworkAcl", "DeleteNetworkAclEntry",
        "ReplaceNetworkAclEntry", "ReplaceNetworkAclAssociation")) + " }",
    "network-gateway-changes": "{ " + " || ".join(f"($.eventName = {e})" for e in (
        "CreateCustomerGateway", "DeleteCustomerGateway", "AttachInternetGateway", "CreateInternetGateway",
        "DeleteInternetGateway", "DetachInternetGateway")) + " }",
    "route-table-changes": "{ " + " || ".join(f"($.eventName = {e})" for e in (
        "CreateRoute", "CreateRouteTable", "ReplaceRoute", "ReplaceRouteTableAssociation", "DeleteRouteTable",
        "DeleteRoute", "DisassociateRouteTable")) + " }",
    "vpc-changes": "{ " + " || ".join(f"($.eventName = {e})" for e in (
        "CreateVpc", "DeleteVpc", "ModifyVpcAttribute", "AcceptVpcPeeringConnection", "CreateVpcPeeringConnection",
        "DeleteVpcPeeringConnection", "RejectVpcPeeringConnection", "AttachClassicLinkVpc", "DetachClassicLinkVpc",
        "DisableVpcClassicLink", "EnableVpcClassicLink")) + " }",
    "organizations-changes": "{ ($.eventSource = organizations.amazonaws.com) && (" + " || ".join(
        f"($.eventName = {e})" for e in (
            "AcceptHandshake", "AttachPolicy", "CreateAccount", "CreateOrganizationalUnit", "CreatePolicy",
            "DeclineHandshake", "DeleteOrganization", "DeleteOrganizationalUnit", "DeletePolicy", "DetachPolicy",
            "DisablePolicyType", "EnablePolicyType", "InviteAccountToOrganization", "LeaveOrganization",
            "MoveAccount", "RemoveAccountFromOrganization", "UpdatePolicy", "UpdateOrganizationalUnit")) + ") }",
}


# --- the second server: account- and region-level settings only --------------------------------
def second():
    s3, ct, iam, ec2 = client("s3"), client("cloudtrail"), client("iam"), client("ec2")
    # A trail that logs management events of its own region only, without data events.
    s3.create_bucket(Bucket="second-trail-bucket")
    ct.create_trail(Name="second-trail", S3BucketName="second-trail-bucket", IsMultiRegionTrail=False)
    ct.start_logging(Name="second-trail")
    # A weak password policy.
    iam.update_account_password_policy(MinimumPasswordLength=8, RequireSymbols=False, RequireNumbers=False,
                                       RequireUppercaseCharacters=False, RequireLowercaseCharacters=False)
    # EBS encryption by default and the account-wide S3 Block Public Access, both on.
    ec2.enable_ebs_encryption_by_default()
    # S3 Control puts the account id in front of the host name, which 127.0.0.1 cannot answer.
    s3control = client("s3control")
    s3control.meta.events.register(
        "before-send.s3-control.*",
        lambda request, **_: setattr(request, "url", request.url.replace(f"//{ACCOUNT}.", "//")))
    s3control.put_public_access_block(AccountId=ACCOUNT, PublicAccessBlockConfiguration={
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True})
    account_labels("second")


# --- the main server ---------------------------------------------------------------------------
def main():
    iam, s3, ec2, kms = client("iam"), client("s3"), client("ec2"), client("kms")

    # KMS: a key with rotation, one without, one scheduled for deletion.
    def key(label, rotate=False, delete=False):
        k = kms.create_key(Description=label)["KeyMetadata"]
        if rotate:
            kms.enable_key_rotation(KeyId=k["KeyId"])
        if delete:
            kms.schedule_key_deletion(KeyId=k["KeyId"], PendingWindowInDays=7)
        out[label] = k["Arn"]
        return k["Arn"]

    data_key = key("pass-kms-rotation", rotate=True)
    key("fail-kms-rotation")
    out["pass-kms-deletion"] = data_key
    key("fail-kms-deletion", delete=True)

    # --- S3: one pair of buckets per control. Server access logs go to `rampart-access-logs`.
    s3.create_bucket(Bucket="rampart-access-logs")
    s3.put_bucket_acl(Bucket="rampart-access-logs", ACL="log-delivery-write")

    def bucket(name):
        s3.create_bucket(Bucket=name)
        out[name] = f"arn:aws:s3:::{name}"
        return name

    def log_to_access_logs(name):
        s3.put_bucket_logging(Bucket=name, BucketLoggingStatus={"LoggingEnabled": {
            "TargetBucket": "rampart-access-logs", "TargetPrefix": f"{name}/"}})

    def encrypt(name):
        s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": [
            {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]})

    def public_policy(name):
        s3.put_bucket_policy(Bucket=name, Policy=doc(
            {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{name}/*"}))

    log_to_access_logs(bucket("pass-s3-logging"))
    bucket("fail-s3-logging")
    bucket("pass-s3-acl")
    s3.put_bucket_acl(Bucket=bucket("fail-s3-acl"), ACL="public-read")
    encrypt(bucket("pass-s3-encryption"))
    bucket("fail-s3-encryption")
    s3.put_bucket_policy(Bucket=bucket("pass-s3-tls"), Policy=doc(
        {"Effect": "Deny", "Principal": "*", "Action": "s3:*",
         "Resource": ["arn:aws:s3:::pass-s3-tls", "arn:aws:s3:::pass-s3-tls/*"],
         "Condition": {"Bool": {"aws:SecureTransport": "false"}}}))
    bucket("fail-s3-tls")
    s3.put_bucket_policy(Bucket=bucket("pass-s3-policy"), Policy=doc(
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "s3:GetObject",
         "Resource": "arn:aws:s3:::pass-s3-policy/*"}))
    public_policy(bucket("fail-s3-policy"))
    s3.put_public_access_block(Bucket=bucket("pass-s3-pab"), PublicAccessBlockConfiguration={
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True})
    bucket("fail-s3-pab")
    s3.put_bucket_versioning(Bucket=bucket("pass-s3-versioning"), VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_versioning(Bucket=bucket("fail-s3-versioning"), VersioningConfiguration={"Status": "Suspended"})
    # Toxic: a public bucket with and without default encryption.
    public_policy(bucket("pass-toxic-s3-unencrypted"))
    encrypt("pass-toxic-s3-unencrypted")
    public_policy(bucket("fail-toxic-s3-unencrypted"))

    # --- EC2 / VPC. VPC A: a public subnet (routed to an internet gateway, public addresses on
    # launch), a private one, a third one in another zone; VPC B: flow logs, its default security
    # group emptied; A and B peered.
    vpc_a = ec2.create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]["VpcId"]
    vpc_b = ec2.create_vpc(CidrBlock="10.2.0.0/16")["Vpc"]["VpcId"]
    public = ec2.create_subnet(VpcId=vpc_a, CidrBlock="10.1.1.0/24", AvailabilityZone=R + "a")["Subnet"]["SubnetId"]
    private = ec2.create_subnet(VpcId=vpc_a, CidrBlock="10.1.2.0/24", AvailabilityZone=R + "a")["Subnet"]["SubnetId"]
    other_az = ec2.create_subnet(VpcId=vpc_a, CidrBlock="10.1.3.0/24", AvailabilityZone=R + "b")["Subnet"]["SubnetId"]
    ec2.modify_subnet_attribute(SubnetId=public, MapPublicIpOnLaunch={"Value": True})
    igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc_a)
    rtb = ec2.create_route_table(VpcId=vpc_a)["RouteTable"]["RouteTableId"]
    ec2.create_route(RouteTableId=rtb, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)
    ec2.associate_route_table(RouteTableId=rtb, SubnetId=public)

    out["pass-flow-logs"] = ec2_arn("vpc", vpc_b)
    out["fail-flow-logs"] = ec2_arn("vpc", vpc_a)
    ec2.create_flow_logs(ResourceIds=[vpc_b], ResourceType="VPC", TrafficType="ALL",
                         LogDestinationType="s3", LogDestination="arn:aws:s3:::rampart-access-logs")

    def default_sg(vpc):
        return ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc]},
                                                     {"Name": "group-name", "Values": ["default"]}])["SecurityGroups"][0]

    sg_b = default_sg(vpc_b)
    if sg_b["IpPermissions"]:
        ec2.revoke_security_group_ingress(GroupId=sg_b["GroupId"], IpPermissions=sg_b["IpPermissions"])
    if sg_b["IpPermissionsEgress"]:
        ec2.revoke_security_group_egress(GroupId=sg_b["GroupId"], IpPermissions=sg_b["IpPermissionsEgress"])
    out["pass-default-sg"] = ec2_arn("security-group", sg_b["GroupId"])
    out["fail-default-sg"] = ec2_arn("security-group", default_sg(vpc_a)["GroupId"])

    # Network ACLs: VPC A's default one allows everything; a custom one allows HTTPS only.
    default_acl = ec2.describe_network_acls(Filters=[{"Name": "vpc-id", "Values": [vpc_a]},
                                                     {"Name": "default", "Values": ["true"]}])["NetworkAcls"][0]
    out["fail-nacl"] = ec2_arn("network-acl", default_acl["NetworkAclId"])
    acl = ec2.create_network_acl(VpcId=vpc_a)["NetworkAcl"]["NetworkAclId"]
    ec2.create_network_acl_entry(NetworkAclId=acl, RuleNumber=100, Protocol="6", RuleAction="allow", Egress=False,
                                 CidrBlock="0.0.0.0/0", PortRange={"From": 443, "To": 443})
    out["pass-nacl"] = ec2_arn("network-acl", acl)

    # Peering routes: a /24 of the peer, and a /8.
    pcx = ec2.create_vpc_peering_connection(VpcId=vpc_a, PeerVpcId=vpc_b)["VpcPeeringConnection"]["VpcPeeringConnectionId"]
    ec2.accept_vpc_peering_connection(VpcPeeringConnectionId=pcx)
    for label, cidr in (("pass-peering", "10.2.1.0/24"), ("fail-peering", "10.0.0.0/8")):
        t = ec2.create_route_table(VpcId=vpc_a)["RouteTable"]["RouteTableId"]
        ec2.create_route(RouteTableId=t, DestinationCidrBlock=cidr, VpcPeeringConnectionId=pcx)
        out[label] = ec2_arn("route-table", t)

    # Security groups in VPC A, one pair per control.
    def sg(label, *rules):
        gid = ec2.create_security_group(GroupName=label, Description=label, VpcId=vpc_a)["GroupId"]
        if rules:
            ec2.authorize_security_group_ingress(GroupId=gid, IpPermissions=list(rules))
        out[label] = ec2_arn("security-group", gid)
        return gid

    def rule(proto, port, v4=(), v6=()):
        return {"IpProtocol": proto, "FromPort": port, "ToPort": port,
                "IpRanges": [{"CidrIp": c} for c in v4], "Ipv6Ranges": [{"CidrIpv6": c} for c in v6]}

    sg("pass-sg-admin-v4", rule("tcp", 443, v4=["0.0.0.0/0"]), rule("tcp", 22, v4=["10.0.0.0/8"]))
    sg("fail-sg-admin-v4", rule("tcp", 22, v4=["0.0.0.0/0"]))
    sg("pass-sg-admin-v6", rule("tcp", 443, v6=["::/0"]), rule("tcp", 3389, v6=["2001:db8::/32"]))
    sg("fail-sg-admin-v6", rule("tcp", 3389, v6=["::/0"]))
    sg("pass-sg-db", rule("tcp", 5432, v4=["10.1.0.0/16"]))
    sg("fail-sg-db", rule("tcp", 3306, v4=["0.0.0.0/0"]))
    sg("pass-sg-ldap", rule("tcp", 636, v4=["10.0.0.0/8"]))
    sg("fail-sg-ldap", rule("udp", 389, v4=["0.0.0.0/0"]))
    # SSH open to the world on a group no instance uses, and on one a running instance uses.
    sg("pass-toxic-ssh", rule("tcp", 22, v4=["0.0.0.0/0"]))
    ssh_open = sg("fail-toxic-ssh", rule("tcp", 22, v4=["0.0.0.0/0"]))
    web_open = sg("web-open", rule("tcp", 443, v4=["0.0.0.0/0"]))
    internal = sg("internal", rule("tcp", 443, v4=["10.0.0.0/8"]))

    # Roles with instance profiles.
    def instance_role(name, *statements):
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust("ec2.amazonaws.com"))
        if statements:
            iam.put_role_policy(RoleName=name, PolicyName="inline", PolicyDocument=doc(*statements))
        prof = iam.create_instance_profile(InstanceProfileName=name)["InstanceProfile"]["Arn"]
        iam.add_role_to_instance_profile(InstanceProfileName=name, RoleName=name)
        return prof

    def instance(label, subnet, groups, tokens="required", profile=None, encrypted=True):
        args = dict(ImageId="ami-12345678", MinCount=1, MaxCount=1, InstanceType="t3.micro",
                    SubnetId=subnet, SecurityGroupIds=groups,
                    MetadataOptions={"HttpTokens": tokens, "HttpEndpoint": "enabled"},
                    TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": label}]}])
        # moto encrypts every volume of a block device mapping, whatever `Encrypted` says: without
        # a mapping the root volume is unencrypted.
        if encrypted:
            args["BlockDeviceMappings"] = [{"DeviceName": "/dev/xvda", "Ebs": {"VolumeSize": 8, "Encrypted": True}}]
        if profile:
            args["IamInstanceProfile"] = {"Arn": profile}
        iid = ec2.run_instances(**args)["Instances"][0]["InstanceId"]
        out[label] = ec2_arn("instance", iid)
        return iid

    # Instance controls: a private instance with IMDSv2 and a role; a public one with IMDSv1 and none.
    pass_ec2 = instance("pass-ec2", private, [internal], profile=instance_role("pass-ec2-role"))
    instance("fail-ec2", public, [internal], tokens="optional")

    # Toxic combinations: instances in the public subnet, reachable from the internet.
    s3.create_bucket(Bucket="customer-records")
    s3.put_bucket_tagging(Bucket="customer-records", Tagging={"TagSet": [{"Key": "data-classification", "Value": "confidential"}]})
    s3.create_bucket(Bucket="public-assets")
    instance("pass-toxic-instance", public, [web_open],
             profile=instance_role("pass-toxic-role", allow("s3:GetObject", "arn:aws:s3:::public-assets/*")))
    instance("fail-toxic-imdsv1", public, [ssh_open], tokens="optional")
    instance("fail-toxic-admin-role", public, [web_open], profile=instance_role("toxic-admin-role", allow("*")))
    instance("fail-toxic-escalation", public, [web_open],
             profile=instance_role("toxic-escalation-role", allow(["iam:PassRole", "ec2:RunInstances"])))
    instance("fail-toxic-sensitive", public, [web_open],
             profile=instance_role("toxic-reader-role", allow("s3:GetObject", "arn:aws:s3:::customer-records/*")))
    instance("fail-toxic-volume", public, [web_open], encrypted=False)

    # Volumes attached to the private instance: encrypted with a snapshot, plain without.
    def volume(label, encrypted, device):
        vid = ec2.create_volume(AvailabilityZone=R + "a", Size=8, Encrypted=encrypted)["VolumeId"]
        ec2.attach_volume(VolumeId=vid, InstanceId=pass_ec2, Device=device)
        out[label] = ec2_arn("volume", vid)
        return vid

    pass_vol = volume("pass-volume", True, "/dev/sdf")
    volume("fail-volume", False, "/dev/sdg")
    snap = ec2.create_snapshot(VolumeId=pass_vol, Description="private")["SnapshotId"]
    out["pass-snapshot"] = f"arn:aws:ec2:{R}::snapshot/{snap}"
    snap = ec2.create_snapshot(VolumeId=pass_vol, Description="public")["SnapshotId"]
    ec2.modify_snapshot_attribute(SnapshotId=snap, Attribute="createVolumePermission",
                                  OperationType="add", GroupNames=["all"])
    out["fail-snapshot"] = f"arn:aws:ec2:{R}::snapshot/{snap}"
    ami = ec2.create_image(InstanceId=pass_ec2, Name="pass-image")["ImageId"]
    out["pass-image"] = f"arn:aws:ec2:{R}::image/{ami}"
    ami = ec2.create_image(InstanceId=pass_ec2, Name="fail-image")["ImageId"]
    ec2.modify_image_attribute(ImageId=ami, LaunchPermission={"Add": [{"Group": "all"}]})
    out["fail-image"] = f"arn:aws:ec2:{R}::image/{ami}"

    # --- IAM.
    def user(label, console=False, mfa=False, keys=0, inactive_key=False, inline=None, attach=None):
        iam.create_user(UserName=label)
        if console:
            iam.create_login_profile(UserName=label, Password="Correct-Horse-Battery-9")
        if mfa:
            serial = iam.create_virtual_mfa_device(VirtualMFADeviceName=label)["VirtualMFADevice"]["SerialNumber"]
            iam.enable_mfa_device(UserName=label, SerialNumber=serial,
                                  AuthenticationCode1="123456", AuthenticationCode2="654321")
        for _ in range(keys):
            iam.create_access_key(UserName=label)
        if inactive_key:
            key_id = iam.create_access_key(UserName=label)["AccessKey"]["AccessKeyId"]
            iam.update_access_key(UserName=label, AccessKeyId=key_id, Status="Inactive")
        if inline:
            iam.put_user_policy(UserName=label, PolicyName="inline", PolicyDocument=doc(*inline))
        if attach:
            iam.attach_user_policy(UserName=label, PolicyArn=attach)
        out[label] = f"arn:aws:iam::{ACCOUNT}:user/{label}"

    def policy(label, *statements):
        arn = iam.create_policy(PolicyName=label, PolicyDocument=doc(*statements))["Policy"]["Arn"]
        out[label] = arn
        return arn

    # Managed policies (attached: the control looks at attached ones only).
    read_only = policy("pass-policy-admin", allow("s3:GetObject", "arn:aws:s3:::public-assets/*"))
    full = policy("fail-policy-admin", allow("*"))
    iam.create_group(GroupName="admins-without-members")
    iam.attach_group_policy(GroupName="admins-without-members", PolicyArn=full)
    user("pass-direct-policies")
    user("fail-direct-policies", attach=read_only)
    user("pass-console-mfa", console=True, mfa=True)
    user("fail-console-mfa", console=True)
    user("pass-initial-key", console=True)
    user("fail-initial-key", console=True, keys=1)
    user("pass-single-key", keys=1)
    user("fail-single-key", keys=2)
    # Toxic: administrators with a console password, with and without MFA.
    user("pass-toxic-admin-user", console=True, mfa=True, inline=[allow("*")])
    user("fail-toxic-admin-user", console=True, inline=[allow("*")])
    # Credential age: the test evaluates these as if 100 days had passed (moto dates everything now).
    user("pass-key-rotation", inactive_key=True)
    user("fail-key-rotation", keys=1)
    user("pass-unused-credentials", inactive_key=True)
    user("fail-unused-credentials", console=True)
    user("pass-toxic-old-key", keys=1, inline=[allow("s3:GetObject", "arn:aws:s3:::public-assets/*")])
    user("fail-toxic-old-key", keys=1, inline=[allow("*")])

    def role(label, trust_doc=None, inline=None):
        arn = iam.create_role(RoleName=label, AssumeRolePolicyDocument=trust_doc or trust("ec2.amazonaws.com"))["Role"]["Arn"]
        if inline:
            iam.put_role_policy(RoleName=label, PolicyName="inline", PolicyDocument=doc(*inline))
        out[label] = arn
        return arn

    # Inline policies: on roles (administrator or not), on groups (any or none).
    role("pass-inline-admin", inline=[allow("s3:GetObject", "arn:aws:s3:::public-assets/*")])
    role("fail-inline-admin", inline=[allow("*")])
    iam.create_group(GroupName="pass-no-inline")
    iam.create_group(GroupName="fail-no-inline")
    iam.put_group_policy(GroupName="fail-no-inline", PolicyName="inline",
                         PolicyDocument=doc(allow("s3:GetObject", "arn:aws:s3:::public-assets/*")))
    out["pass-no-inline"] = f"arn:aws:iam::{ACCOUNT}:group/pass-no-inline"
    out["fail-no-inline"] = f"arn:aws:iam::{ACCOUNT}:group/fail-no-inline"
    # Trust policies: a service, and anyone.
    role("pass-role-trust")
    role("fail-role-trust", trust_doc=doc({"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}))

    # --- SNS, SQS, DynamoDB, ECR, EFS.
    sns, sqs, ddb, ecr, efs = client("sns"), client("sqs"), client("dynamodb"), client("ecr"), client("efs")
    out["pass-sns"] = sns.create_topic(Name="pass-sns", Attributes={"KmsMasterKeyId": data_key})["TopicArn"]
    out["fail-sns"] = sns.create_topic(Name="fail-sns")["TopicArn"]
    for label, attrs in (("pass-sqs", {"KmsMasterKeyId": data_key}), ("fail-sqs", {"SqsManagedSseEnabled": "false"})):
        url = sqs.create_queue(QueueName=label, Attributes=attrs)["QueueUrl"]
        out[label] = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    for label in ("pass-dynamodb", "fail-dynamodb"):
        out[label] = ddb.create_table(TableName=label, BillingMode="PAY_PER_REQUEST",
                                      AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                                      KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}])["TableDescription"]["TableArn"]
    ddb.update_continuous_backups(TableName="pass-dynamodb",
                                  PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True})
    for label, scan in (("pass-ecr", True), ("fail-ecr", False)):
        out[label] = ecr.create_repository(repositoryName=label, imageScanningConfiguration={"scanOnPush": scan})[
            "repository"]["repositoryArn"]
    out["pass-efs"] = efs.create_file_system(CreationToken="pass-efs", Encrypted=True, KmsKeyId=data_key,
                                             Backup=True)["FileSystemArn"]
    out["fail-efs"] = efs.create_file_system(CreationToken="fail-efs", Encrypted=False)["FileSystemArn"]

    # --- RDS: a private, hardened instance; a public one without any of that (its port open to
    # the internet); a public one open to the internet but encrypted and backed up.
    rds = client("rds")
    pass_db_sg = sg("rds-from-vpc", rule("tcp", 5432, v4=["10.1.0.0/16"]))
    open_db_sg = sg("rds-from-anywhere", rule("tcp", 5432, v4=["0.0.0.0/0"]))

    def db(label, sg_id, hardened, public):
        return rds.create_db_instance(
            DBInstanceIdentifier=label, DBInstanceClass="db.t3.micro", Engine="postgres",
            MasterUsername="admin", MasterUserPassword="password123", AllocatedStorage=20,
            PubliclyAccessible=public, StorageEncrypted=hardened, MultiAZ=hardened,
            DeletionProtection=hardened, AutoMinorVersionUpgrade=hardened,
            BackupRetentionPeriod=7 if hardened else 0, VpcSecurityGroupIds=[sg_id])["DBInstance"]["DBInstanceArn"]

    out["pass-rds"] = db("pass-rds", pass_db_sg, hardened=True, public=False)
    out["fail-rds"] = db("fail-rds", open_db_sg, hardened=False, public=True)
    out["pass-toxic-rds"] = db("pass-toxic-rds", open_db_sg, hardened=True, public=True)
    out["pass-rds-snapshot"] = rds.create_db_snapshot(DBSnapshotIdentifier="pass-rds-snapshot",
                                                      DBInstanceIdentifier="pass-rds")["DBSnapshot"]["DBSnapshotArn"]
    out["fail-rds-snapshot"] = rds.create_db_snapshot(DBSnapshotIdentifier="fail-rds-snapshot",
                                                      DBInstanceIdentifier="pass-rds")["DBSnapshot"]["DBSnapshotArn"]
    rds.modify_db_snapshot_attribute(DBSnapshotIdentifier="fail-rds-snapshot", AttributeName="restore",
                                     ValuesToAdd=["all"])

    # --- EKS: a private API endpoint, and one public to the world.
    eks = client("eks")
    eks_role = role("eks-role", trust_doc=trust("eks.amazonaws.com"))
    for label, public_endpoint in (("pass-eks", False), ("fail-eks", True)):
        vpc_cfg = {"subnetIds": [private, other_az], "endpointPublicAccess": public_endpoint,
                   "endpointPrivateAccess": not public_endpoint}
        if public_endpoint:
            vpc_cfg["publicAccessCidrs"] = ["0.0.0.0/0"]
        out[label] = eks.create_cluster(name=label, roleArn=eks_role, resourcesVpcConfig=vpc_cfg)["cluster"]["arn"]

    # --- ELBv2: internet-facing load balancers.
    elbv2, acm = client("elbv2"), client("acm")
    cert = acm.request_certificate(DomainName="app.example.com")["CertificateArn"]

    def lb(label, kind, listeners, attributes=()):
        args = dict(Name=label, Subnets=[public, other_az], Scheme="internet-facing", Type=kind)
        if kind == "application":
            args["SecurityGroups"] = [web_open]
        arn = elbv2.create_load_balancer(**args)["LoadBalancers"][0]["LoadBalancerArn"]
        proto = "HTTP" if kind == "application" else "TCP"
        tg = elbv2.create_target_group(Name=label, Protocol=proto, Port=80, VpcId=vpc_a)["TargetGroups"][0]["TargetGroupArn"]
        for listener in listeners:
            listener = dict(listener)
            listener.setdefault("DefaultActions", [{"Type": "forward", "TargetGroupArn": tg}])
            elbv2.create_listener(LoadBalancerArn=arn, **listener)
        if attributes:
            elbv2.modify_load_balancer_attributes(LoadBalancerArn=arn, Attributes=list(attributes))
        out[label] = arn

    strong = "ELBSecurityPolicy-TLS13-1-2-2021-06"
    https = {"Protocol": "HTTPS", "Port": 443, "SslPolicy": strong, "Certificates": [{"CertificateArn": cert}]}
    redirect = {"Protocol": "HTTP", "Port": 80, "DefaultActions": [{"Type": "redirect", "RedirectConfig": {
        "Protocol": "HTTPS", "Port": "443", "StatusCode": "HTTP_301"}}]}
    lb("pass-alb", "application", [https, redirect], attributes=[
        {"Key": "access_logs.s3.enabled", "Value": "true"}, {"Key": "access_logs.s3.bucket", "Value": "rampart-access-logs"}])
    lb("fail-alb", "application", [{"Protocol": "HTTP", "Port": 80}])
    # moto gives plain HTTP and TCP listeners an SSL policy too (ELBSecurityPolicy-2016-08): the
    # TLS policy pair has HTTPS listeners only.
    lb("pass-tls-policy", "application", [https])
    lb("fail-tls-policy", "application", [dict(https, SslPolicy="ELBSecurityPolicy-2016-08")])
    lb("pass-nlb", "network", [{"Protocol": "TLS", "Port": 443, "SslPolicy": strong,
                                "Certificates": [{"CertificateArn": cert}]}])
    lb("fail-nlb", "network", [{"Protocol": "TCP", "Port": 80}])

    # --- Lambda: functions with their own roles (two share one), runtimes, function URLs.
    lam = client("lambda")
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as z:
        z.writestr("app.py", "def handler(event, context):\n    return 1\n")

    def function(label, runtime="python3.12", role_arn=None, url=None, cors=None):
        role_arn = role_arn or role(f"fn-{label}", trust_doc=trust("lambda.amazonaws.com"))
        arn = lam.create_function(FunctionName=label, Runtime=runtime, Role=role_arn, Handler="app.handler",
                                  Code={"ZipFile": code.getvalue()})["FunctionArn"]
        if url:
            args = dict(FunctionName=label, AuthType=url)
            if cors:
                args["Cors"] = {"AllowOrigins": cors}
            lam.create_function_url_config(**args)
        out[label] = arn

    function("pass-lambda", url="AWS_IAM")
    function("fail-lambda-runtime", runtime="python3.9")
    shared = role("shared-function-role", trust_doc=trust("lambda.amazonaws.com"))
    function("fail-lambda-role", role_arn=shared)
    function("also-shared-role", role_arn=shared)
    function("fail-lambda-url", url="NONE")
    function("pass-lambda-cors", url="NONE", cors=["https://app.example.com"])
    function("fail-lambda-cors", url="NONE", cors=["*"])
    # Toxic: an unauthenticated URL on a function whose role is scoped, or an administrator.
    function("pass-toxic-lambda", url="NONE")
    function("fail-toxic-lambda", url="NONE",
             role_arn=role("toxic-function-admin", trust_doc=trust("lambda.amazonaws.com"), inline=[allow("*")]))

    # --- CloudTrail. A multi-region trail logging management events and S3 data events, with log
    # file validation, KMS encryption, CloudWatch Logs delivery, into a bucket with access logs; a
    # single-region trail without any of that. Toxic: a trail bucket that is public.
    ct, logs, cw = client("cloudtrail"), client("logs"), client("cloudwatch")
    logs.create_log_group(logGroupName="pass-trail-logs")
    group_arn = f"arn:aws:logs:{R}:{ACCOUNT}:log-group:pass-trail-logs:*"
    trail_role = role("trail-logs-role", trust_doc=trust("cloudtrail.amazonaws.com"))
    s3.create_bucket(Bucket="pass-trail-bucket")
    log_to_access_logs("pass-trail-bucket")
    s3.create_bucket(Bucket="fail-trail-bucket")
    out["pass-trail"] = ct.create_trail(Name="pass-trail", S3BucketName="pass-trail-bucket", IsMultiRegionTrail=True,
                                        EnableLogFileValidation=True, KmsKeyId=data_key,
                                        CloudWatchLogsLogGroupArn=group_arn,
                                        CloudWatchLogsRoleArn=trail_role)["TrailARN"]
    ct.put_event_selectors(TrailName="pass-trail", EventSelectors=[
        {"ReadWriteType": "All", "IncludeManagementEvents": True,
         "DataResources": [{"Type": "AWS::S3::Object", "Values": ["arn:aws:s3"]}]}])
    ct.start_logging(Name="pass-trail")
    out["fail-trail"] = ct.create_trail(Name="fail-trail", S3BucketName="fail-trail-bucket")["TrailARN"]
    ct.start_logging(Name="fail-trail")
    out["pass-toxic-s3-audit"] = "arn:aws:s3:::pass-trail-bucket"
    public_policy(bucket("fail-toxic-s3-audit"))
    ct.create_trail(Name="public-bucket-trail", S3BucketName="fail-toxic-s3-audit")

    # The CIS 4.x monitoring chain on the multi-region trail's log group: one metric filter per
    # benchmark pattern, an alarm on each, an SNS topic with a confirmed subscription.
    topic = sns.create_topic(Name="cis-alarms")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="email", Endpoint="security@example.com")
    for name, pattern in CIS_FILTERS.items():
        logs.put_metric_filter(logGroupName="pass-trail-logs", filterName=name, filterPattern=pattern,
                               metricTransformations=[{"metricName": name, "metricNamespace": "CISBenchmark",
                                                       "metricValue": "1"}])
        cw.put_metric_alarm(AlarmName=name, MetricName=name, Namespace="CISBenchmark", Statistic="Sum",
                            Period=300, EvaluationPeriods=1, Threshold=1,
                            ComparisonOperator="GreaterThanOrEqualToThreshold", AlarmActions=[topic])

    # --- Account- and region-level settings of this server (the second server holds the others):
    # a strong password policy, a support role, an AWS Config recorder, a GuardDuty detector.
    iam.update_account_password_policy(MinimumPasswordLength=14, RequireSymbols=True, RequireNumbers=True,
                                       RequireUppercaseCharacters=True, RequireLowercaseCharacters=True,
                                       MaxPasswordAge=90, PasswordReusePrevention=24)
    role("support", trust_doc=doc({"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                                   "Action": "sts:AssumeRole"}))
    iam.attach_role_policy(RoleName="support", PolicyArn="arn:aws:iam::aws:policy/AWSSupportAccess")
    config = client("config")
    config.put_configuration_recorder(ConfigurationRecorder={
        "name": "default", "roleARN": role("config-role", trust_doc=trust("config.amazonaws.com")),
        "recordingGroup": {"allSupported": True, "includeGlobalResourceTypes": True}})
    config.put_delivery_channel(DeliveryChannel={"name": "default", "s3BucketName": "rampart-access-logs"})
    config.start_configuration_recorder(ConfigurationRecorderName="default")
    client("guardduty").create_detector(Enable=True)
    account_labels("main")


if __name__ == "__main__":
    {"main": main, "second": second}[sys.argv[1]]()
    # Only the labels the test asserts on (helpers such as roles and shared groups are left out).
    print(json.dumps({k: v for k, v in out.items() if k.split("-")[0] in ("pass", "fail", "main", "second")}))
