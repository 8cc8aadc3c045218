#!/usr/bin/env python3
"""Generates content/samples/demo.jsonl, Rampart's bundled demo inventory.

The fictional organisation "Acme" runs three AWS accounts (prod, staging, security) in several
regions. The security account is well configured and prod mostly so; staging carries most of the
problems (open admin ports, weak credentials, unencrypted and unreplicated data, a public bucket),
so that many controls pass everywhere and framework scores land in a believable range. Every
resource type the built-in controls read (docs/asset-types.md) is present, with relationships.

Deterministic: a fixed seed and a fixed snapshot time, so regenerating gives the same file.

    python3 content/samples/generate_demo.py            # writes content/samples/demo.jsonl
    python3 content/samples/generate_demo.py -o out.jsonl
"""

import argparse
import json
import os
import random
from datetime import datetime, timedelta, timezone

SEED = 20261101
GENERATED_AT = datetime(2026, 11, 1, 9, 0, 0, tzinfo=timezone.utc)

ACCOUNTS = {
    "prod": {"id": "111122223333", "regions": ["eu-west-1", "us-east-1", "eu-central-1"], "home": "eu-west-1"},
    "staging": {"id": "444455556666", "regions": ["eu-west-1", "us-east-1"], "home": "eu-west-1"},
    "security": {"id": "777788889999", "regions": ["eu-west-1", "us-east-1"], "home": "eu-west-1"},
}
# Regions enabled in every account (one aws.account.region asset each).
ENABLED_REGIONS = ["eu-west-1", "us-east-1", "eu-central-1", "ap-southeast-2"]

rng = random.Random(SEED)
lines = []
native_ids = set()


def ts(days_ago=0, hours_ago=0):
    t = GENERATED_AT - timedelta(days=days_ago, hours=hours_ago)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def hexid(n=17):
    return "".join(rng.choice("0123456789abcdef") for _ in range(n))


def asset(account, region, rtype, native_id, name=None, tags=None, config=None):
    assert native_id not in native_ids, native_id
    native_ids.add(native_id)
    line = {
        "kind": "asset",
        "provider": "aws",
        "account": account,
        "region": region,
        "type": rtype,
        "native_id": native_id,
    }
    if name:
        line["name"] = name
    if tags:
        line["tags"] = tags
    line["config"] = config or {}
    lines.append(line)
    return native_id


def rel(frm, to, kind):
    lines.append({"kind": "relationship", "from": frm, "to": to, "type": kind})


def perm(proto, frm=None, to=None, cidrs=(), cidrs6=(), groups=()):
    p = {"ipProtocol": proto}
    if frm is not None:
        p["fromPort"] = frm
        p["toPort"] = to if to is not None else frm
    p["ipRanges"] = [{"cidrIp": c} for c in cidrs]
    p["ipv6Ranges"] = [{"cidrIpv6": c} for c in cidrs6]
    p["userIdGroupPairs"] = [{"groupId": g} for g in groups]
    p["prefixListIds"] = []
    return p


EGRESS_ALL = [perm("-1", cidrs=["0.0.0.0/0"])]


def policy_doc(statements):
    return {"Version": "2012-10-17", "Statement": statements}


# ---------------------------------------------------------------- KMS keys

def kms_keys(env, acct, region):
    keys = {}
    specs = [
        ("data", "CUSTOMER", "SYMMETRIC_DEFAULT", "Enabled", True),
        ("logs", "CUSTOMER", "SYMMETRIC_DEFAULT", "Enabled", True),
        ("aws-ebs", "AWS", "SYMMETRIC_DEFAULT", "Enabled", True),
    ]
    if env == "prod":
        specs.append(("signing", "CUSTOMER", "RSA_2048", "Enabled", False))
        specs.append(("legacy", "CUSTOMER", "SYMMETRIC_DEFAULT", "Enabled", True))
        specs.append(("retired", "CUSTOMER", "SYMMETRIC_DEFAULT", "Disabled", False))
    for label, manager, spec, state, rotation in specs:
        key_id = "%s-%s-%s-%s-%s" % (hexid(8), hexid(4), hexid(4), hexid(4), hexid(12))
        arn = "arn:aws:kms:%s:%s:key/%s" % (region, acct, key_id)
        cfg = {
            "keyId": key_id,
            "arn": arn,
            "description": "acme %s %s key" % (env, label),
            "enabled": state == "Enabled",
            "keyState": state,
            "keyUsage": "SIGN_VERIFY" if spec.startswith("RSA") else "ENCRYPT_DECRYPT",
            "keySpec": spec,
            "keyManager": manager,
            "origin": "AWS_KMS",
            "creationDate": ts(rng.randint(100, 900)),
            "multiRegion": False,
            "keyRotationEnabled": rotation,
        }
        keys[label] = asset(acct, region, "aws.kms.key", arn, "alias/acme-%s-%s" % (env, label) if manager == "CUSTOMER" else "alias/aws/ebs",
                            {"env": env} if manager == "CUSTOMER" else None, cfg)
    return keys


# ---------------------------------------------------------------- S3

def bucket(env, acct, region, name, *, pab=True, tls=True, mfa_delete=True, versioning="Enabled",
           encryption="aws:kms", logging_to=None, public_policy=False, kms=None, tags=None,
           replicate_to=None, trail_arn=None, public_acl=False):
    arn = "arn:aws:s3:::%s" % name
    statements = []
    if tls:
        statements.append({
            "Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": ["s3:*"],
            "Resource": [arn, arn + "/*"],
            "Condition": {"Bool": {"aws:SecureTransport": ["false"]}},
        })
    if public_policy:
        statements.append({"Sid": "PublicRead", "Effect": "Allow", "Principal": "*",
                           "Action": ["s3:GetObject"], "Resource": [arn + "/*"]})
    cfg = {"name": name, "creationDate": ts(rng.randint(60, 1500)), "owner": {"id": hexid(64)}}
    if pab:
        cfg["publicAccessBlock"] = {k: True for k in ("blockPublicAcls", "ignorePublicAcls", "blockPublicPolicy", "restrictPublicBuckets")}
    elif pab is None:
        pass
    else:
        cfg["publicAccessBlock"] = {"blockPublicAcls": True, "ignorePublicAcls": True, "blockPublicPolicy": False, "restrictPublicBuckets": False}
    if statements:
        cfg["policy"] = policy_doc(statements)
    cfg["versioning"] = {"status": versioning, "mfaDeleteEnabled": mfa_delete}
    if encryption:
        default = {"sseAlgorithm": encryption}
        if encryption == "aws:kms" and kms:
            default["kmsMasterKeyId"] = kms
        cfg["encryption"] = {"rules": [{"applyServerSideEncryptionByDefault": default, "bucketKeyEnabled": encryption == "aws:kms"}]}
    if logging_to:
        cfg["logging"] = {"enabled": True, "targetBucket": logging_to, "targetPrefix": name + "/"}
    else:
        cfg["logging"] = {"enabled": False}
    cfg["acl"] = {"owner": cfg["owner"], "grants": [{"grantee": {"type": "CanonicalUser", "id": cfg["owner"]["id"]}, "permission": "FULL_CONTROL"}]}
    if public_acl:
        cfg["acl"]["grants"].append({"grantee": {"type": "Group", "uri": "http://acs.amazonaws.com/groups/global/AllUsers"}, "permission": "READ"})
    if replicate_to:
        cfg["replication"] = {"role": "arn:aws:iam::%s:role/s3-replication" % acct,
                              "rules": [{"id": "dr-copy", "status": "Enabled", "priority": 1,
                                         "destination": {"bucket": "arn:aws:s3:::%s" % replicate_to, "account": "777788889999", "storageClass": "STANDARD_IA"}}]}
    if trail_arn:
        cfg["cloudTrailTrails"] = [trail_arn]
    nid = asset(acct, region, "aws.s3.bucket", arn, name, dict({"env": env}, **(tags or {})), cfg)
    if kms and encryption == "aws:kms":
        rel(nid, kms, "encrypted_by")
    return nid


# ---------------------------------------------------------------- network

def network(env, acct, region, cidr_prefix, *, default_vpc_only=False, flow_logs=True, strict_default_sg=True):
    """A VPC with subnets, route tables, an internet gateway, NACLs and security groups."""
    out = {"subnets": [], "sgs": {}}
    is_default = default_vpc_only
    vpc_id = "vpc-0" + hexid(16)
    vpc_arn = "arn:aws:ec2:%s:%s:vpc/%s" % (region, acct, vpc_id)
    cidr = "172.31.0.0/16" if is_default else "%s.0.0/16" % cidr_prefix
    fl = []
    if flow_logs:
        fl.append({"flowLogId": "fl-0" + hexid(16), "flowLogStatus": "ACTIVE", "trafficType": rng.choice(["ALL", "ALL", "REJECT"]),
                   "logDestinationType": "s3", "logDestination": "arn:aws:s3:::acme-security-flow-logs", "deliverLogsStatus": "SUCCESS"})
    elif env == "staging" and not is_default:
        fl.append({"flowLogId": "fl-0" + hexid(16), "flowLogStatus": "ACTIVE", "trafficType": "ACCEPT",
                   "logDestinationType": "cloud-watch-logs", "logGroupName": "staging-vpc-accept", "deliverLogsStatus": "SUCCESS"})
    name = "default" if is_default else "acme-%s-%s" % (env, region)
    vpc = asset(acct, region, "aws.ec2.vpc", vpc_arn, name, {"env": env} if not is_default else None, {
        "vpcId": vpc_id, "cidrBlock": cidr, "isDefault": is_default, "state": "available",
        "instanceTenancy": "default", "dhcpOptionsId": "dopt-0" + hexid(8),
        "cidrBlockAssociationSet": [{"cidrBlock": cidr, "cidrBlockState": {"state": "associated"}}],
        "ipv6CidrBlockAssociationSet": [], "flowLogs": fl,
    })
    out["vpc"] = vpc
    out["vpc_id"] = vpc_id
    igw_id = "igw-0" + hexid(16)
    igw = asset(acct, region, "aws.ec2.internet_gateway", "arn:aws:ec2:%s:%s:internet-gateway/%s" % (region, acct, igw_id), igw_id, None,
                {"internetGatewayId": igw_id, "attachments": [{"vpcId": vpc_id, "state": "available"}]})
    rel(igw, vpc, "attached_to")
    azs = ["a", "b"]
    public_rt_id = "rtb-0" + hexid(16)
    private_rt_id = "rtb-0" + hexid(16)
    subnet_ids = []
    for i, az in enumerate(azs):
        for tier in (["default"] if is_default else ["public", "private"]):
            sid = "subnet-0" + hexid(16)
            third = i * 16 + (0 if tier in ("public", "default") else 128)
            sub_cidr = ("172.31.%d.0/20" % (i * 16)) if is_default else "%s.%d.0/20" % (cidr_prefix, third)
            s = asset(acct, region, "aws.ec2.subnet", "arn:aws:ec2:%s:%s:subnet/%s" % (region, acct, sid),
                      "%s-%s-%s" % (name, tier, az), None, {
                          "subnetId": sid, "vpcId": vpc_id, "cidrBlock": sub_cidr, "availabilityZone": region + az,
                          "mapPublicIpOnLaunch": tier in ("public", "default"), "defaultForAz": is_default, "state": "available"})
            rel(s, vpc, "contained_in")
            out["subnets"].append((s, sid, tier))
            subnet_ids.append((s, sid, tier))
    for rt_id, tier in ((public_rt_id, "public"), (private_rt_id, "private")):
        if is_default and tier == "private":
            continue
        routes = [{"destinationCidrBlock": cidr, "gatewayId": "local", "state": "active"}]
        if tier == "public":
            routes.append({"destinationCidrBlock": "0.0.0.0/0", "gatewayId": igw_id, "state": "active"})
        if tier == "private" and env == "security":
            # peering to the prod VPC for log shipping: one /16, the peer VPC only
            routes.append({"destinationCidrBlock": "10.10.0.0/16", "vpcPeeringConnectionId": "pcx-0" + hexid(16), "state": "active"})

        assoc = [{"subnetId": sid, "main": False} for (_, sid, t) in subnet_ids if t == tier or is_default]
        rt = asset(acct, region, "aws.ec2.route_table", "arn:aws:ec2:%s:%s:route-table/%s" % (region, acct, rt_id),
                   "%s-%s" % (name, tier), None, {"routeTableId": rt_id, "vpcId": vpc_id, "routes": routes, "associations": assoc})
        rel(rt, vpc, "contained_in")
        for (s, sid, t) in subnet_ids:
            if t == tier or is_default:
                rel(rt, s, "associated_with")
    # Network ACLs: the default one (allow all) and, outside default VPCs, a locked-down one.
    acl_id = "acl-0" + hexid(16)
    default_entries = [
        {"ruleNumber": 100, "protocol": "-1", "ruleAction": "allow", "egress": False, "cidrBlock": "0.0.0.0/0"},
        {"ruleNumber": 32767, "protocol": "-1", "ruleAction": "deny", "egress": False, "cidrBlock": "0.0.0.0/0"},
        {"ruleNumber": 100, "protocol": "-1", "ruleAction": "allow", "egress": True, "cidrBlock": "0.0.0.0/0"},
        {"ruleNumber": 32767, "protocol": "-1", "ruleAction": "deny", "egress": True, "cidrBlock": "0.0.0.0/0"},
    ]
    acl = asset(acct, region, "aws.ec2.network_acl", "arn:aws:ec2:%s:%s:network-acl/%s" % (region, acct, acl_id), acl_id, None, {
        "networkAclId": acl_id, "vpcId": vpc_id, "isDefault": True, "entries": default_entries,
        "associations": [{"subnetId": sid, "networkAclAssociationId": "aclassoc-" + hexid(8)} for (_, sid, t) in subnet_ids if t != "private"],
    })
    rel(acl, vpc, "contained_in")
    for (s, sid, t) in subnet_ids:
        if t != "private":
            rel(acl, s, "associated_with")
    if not is_default:
        acl_id = "acl-0" + hexid(16)
        entries = [
            {"ruleNumber": 100, "protocol": "6", "ruleAction": "allow", "egress": False, "cidrBlock": "%s.0.0/16" % cidr_prefix, "portRange": {"from": 0, "to": 65535}},
            {"ruleNumber": 110, "protocol": "6", "ruleAction": "allow", "egress": False, "cidrBlock": "0.0.0.0/0", "portRange": {"from": 32768, "to": 65535}},
            {"ruleNumber": 32767, "protocol": "-1", "ruleAction": "deny", "egress": False, "cidrBlock": "0.0.0.0/0"},
            {"ruleNumber": 100, "protocol": "-1", "ruleAction": "allow", "egress": True, "cidrBlock": "0.0.0.0/0"},
        ]
        if env == "staging":
            # a "temporary" rule someone forgot: SSH from anywhere
            entries.insert(0, {"ruleNumber": 90, "protocol": "6", "ruleAction": "allow", "egress": False, "cidrBlock": "0.0.0.0/0", "portRange": {"from": 22, "to": 22}})
        pacl = asset(acct, region, "aws.ec2.network_acl", "arn:aws:ec2:%s:%s:network-acl/%s" % (region, acct, acl_id), "%s-private" % name, None, {
            "networkAclId": acl_id, "vpcId": vpc_id, "isDefault": False, "entries": entries,
            "associations": [{"subnetId": sid, "networkAclAssociationId": "aclassoc-" + hexid(8)} for (_, sid, t) in subnet_ids if t == "private"],
        })
        rel(pacl, vpc, "contained_in")
        for (s, sid, t) in subnet_ids:
            if t == "private":
                rel(pacl, s, "associated_with")

    def sg(label, ingress, egress=EGRESS_ALL, group_name=None):
        gid = "sg-0" + hexid(16)
        nid = asset(acct, region, "aws.ec2.security_group", "arn:aws:ec2:%s:%s:security-group/%s" % (region, acct, gid),
                    group_name or label, None, {
                        "groupId": gid, "groupName": group_name or label, "description": "%s security group" % label,
                        "vpcId": vpc_id, "ownerId": acct, "ipPermissions": ingress, "ipPermissionsEgress": egress})
        rel(nid, vpc, "contained_in")
        out["sgs"][label] = (nid, gid)
        return gid

    if strict_default_sg:
        sg("default", [], [], "default")
    else:
        gid_default = "sg-0" + hexid(16)
        nid = asset(acct, region, "aws.ec2.security_group", "arn:aws:ec2:%s:%s:security-group/%s" % (region, acct, gid_default), "default", None, {
            "groupId": gid_default, "groupName": "default", "description": "default VPC security group", "vpcId": vpc_id, "ownerId": acct,
            "ipPermissions": [perm("-1", groups=[gid_default])], "ipPermissionsEgress": EGRESS_ALL})
        rel(nid, vpc, "contained_in")
        out["sgs"]["default"] = (nid, gid_default)
    if not is_default:
        web = sg("web", [perm("tcp", 443, cidrs=["0.0.0.0/0"], cidrs6=["::/0"]), perm("tcp", 80, cidrs=["0.0.0.0/0"])])
        sg("app", [perm("tcp", 8080, groups=[web]), perm("tcp", 22, cidrs=["10.255.0.0/16"])])
        sg("db", [perm("tcp", 5432, groups=[out["sgs"]["app"][1]])])
        sg("db-mysql", [perm("tcp", 3306, groups=[out["sgs"]["app"][1]])])
        if env == "staging":
            sg("launch-wizard-1", [perm("tcp", 22, cidrs=["0.0.0.0/0"])])
            sg("debug-all", [perm("-1", cidrs=["0.0.0.0/0"], cidrs6=["::/0"])])
        if env == "prod" and region == "eu-west-1":
            sg("windows-jump", [perm("tcp", 3389, cidrs=["0.0.0.0/0"])])
            sg("bastion-v6", [perm("tcp", 22, cidrs=["10.255.0.0/16"], cidrs6=["::/0"])])
            sg("partner-range", [perm("tcp", 1000, 5000, cidrs=["203.0.113.0/24"])])
    return out


# ---------------------------------------------------------------- compute and data

def instance(env, acct, region, net, name, *, tier="private", sgs=("app",), imdsv2=True, state="running",
             role=None, volumes=((8, True),), kms=None, ami="ami-0" + "a1b2c3d4e5f60718"):
    iid = "i-0" + hexid(16)
    subnet = rng.choice([s for s in net["subnets"] if s[2] == tier or s[2] == "default"])
    arn = "arn:aws:ec2:%s:%s:instance/%s" % (region, acct, iid)
    sg_list = [net["sgs"][s] for s in sgs]
    vol_assets = []
    bdm = []
    for i, (size, enc) in enumerate(volumes):
        vid = "vol-0" + hexid(16)
        dev = "/dev/xvda" if i == 0 else "/dev/sd%s" % "fghij"[i]
        bdm.append({"deviceName": dev, "ebs": {"volumeId": vid, "status": "attached", "deleteOnTermination": i == 0}})
        vol_assets.append((vid, size, enc, dev))
    cfg = {
        "instanceId": iid, "instanceType": rng.choice(["t3.medium", "m6i.large", "c6i.xlarge", "t3.small"]),
        "imageId": ami, "state": {"code": 16 if state == "running" else 80, "name": state},
        "launchTime": ts(rng.randint(5, 400)), "vpcId": net["vpc_id"], "subnetId": subnet[1],
        "privateIpAddress": "10.%d.%d.%d" % (rng.randint(0, 255), rng.randint(0, 255), rng.randint(4, 250)),
        "securityGroups": [{"groupId": gid, "groupName": label} for label, (_, gid) in zip(sgs, sg_list)],
        "metadataOptions": {"httpTokens": "required" if imdsv2 else "optional", "httpEndpoint": "enabled",
                            "httpPutResponseHopLimit": 2 if imdsv2 else 1, "state": "applied"},
        "blockDeviceMappings": bdm, "monitoring": {"state": "disabled"},
        "inspectorCoverage": {"scanType": "PACKAGE", "scanStatus": {"statusCode": "ACTIVE", "reason": "SUCCESSFUL"}},
    }
    if tier == "public":
        cfg["publicIpAddress"] = "203.0.113.%d" % rng.randint(2, 250)
    if role:
        cfg["iamInstanceProfile"] = {"arn": role[1].replace(":role/", ":instance-profile/"), "id": "AIPA" + hexid(16).upper()}
    nid = asset(acct, region, "aws.ec2.instance", arn, name, {"env": env, "Name": name}, cfg)
    for (sg_nid, _) in sg_list:
        rel(nid, sg_nid, "uses")
    rel(nid, subnet[0], "contained_in")
    if role:
        rel(nid, role[0], "uses")
    for vid, size, enc, dev in vol_assets:
        vcfg = {"volumeId": vid, "size": size, "volumeType": "gp3" if enc else "gp2", "encrypted": enc, "state": "in-use",
                "availabilityZone": region + "a", "createTime": cfg["launchTime"],
                "attachments": [{"instanceId": iid, "device": dev, "state": "attached"}],
                "snapshotSummary": {"count": 14, "latestSnapshotId": "snap-0" + hexid(16), "latestStartTime": ts(0, 6)}}
        if enc and kms:
            vcfg["kmsKeyId"] = kms
        v = asset(acct, region, "aws.ec2.volume", "arn:aws:ec2:%s:%s:volume/%s" % (region, acct, vid), vid, {"env": env}, vcfg)
        rel(v, nid, "attached_to")
        if enc and kms:
            rel(v, kms, "encrypted_by")
    return nid


def rds(env, acct, region, net, ident, *, encrypted=True, public=False, minor=True, backups=7, deletion=True, engine="postgres", kms=None):
    arn = "arn:aws:rds:%s:%s:db:%s" % (region, acct, ident)
    sg_label = "db-mysql" if engine == "mysql" else "db"
    cfg = {
        "dbInstanceIdentifier": ident, "dbInstanceArn": arn, "dbInstanceClass": rng.choice(["db.r6g.large", "db.t4g.medium", "db.m6g.xlarge"]),
        "engine": engine, "engineVersion": {"postgres": "16.4", "mysql": "8.0.39", "aurora-postgresql": "15.8"}[engine],
        "dbInstanceStatus": "available", "storageEncrypted": encrypted, "publiclyAccessible": public,
        "autoMinorVersionUpgrade": minor, "backupRetentionPeriod": backups, "multiAZ": not engine.startswith("aurora"),
        "deletionProtection": deletion, "iamDatabaseAuthenticationEnabled": env == "prod",
        "endpoint": {"address": "%s.c%s.%s.rds.amazonaws.com" % (ident, hexid(10), region), "port": 5432 if "postgres" in engine else 3306},
        "vpcSecurityGroups": [{"vpcSecurityGroupId": net["sgs"][sg_label][1], "status": "active"}],
        "dbSubnetGroup": {"dbSubnetGroupName": "acme-%s-db" % env, "vpcId": net["vpc_id"]},
    }
    if encrypted and kms:
        cfg["kmsKeyId"] = kms
    nid = asset(acct, region, "aws.rds.db_instance", arn, ident, {"env": env}, cfg)
    rel(nid, net["sgs"][sg_label][0], "uses")
    if encrypted and kms:
        rel(nid, kms, "encrypted_by")
    return nid


def efs(env, acct, region, name, *, encrypted=True, kms=None):
    fid = "fs-0" + hexid(16)
    arn = "arn:aws:elasticfilesystem:%s:%s:file-system/%s" % (region, acct, fid)
    cfg = {"fileSystemId": fid, "fileSystemArn": arn, "name": name, "encrypted": encrypted, "lifeCycleState": "available",
           "performanceMode": "generalPurpose", "throughputMode": "elastic", "backupPolicy": {"status": "ENABLED"}}
    if encrypted and kms:
        cfg["kmsKeyId"] = kms
    nid = asset(acct, region, "aws.efs.file_system", arn, name, {"env": env}, cfg)
    if encrypted and kms:
        rel(nid, kms, "encrypted_by")
    return nid



# ---------------------------------------------------------------- serverless, containers, load balancers

LAMBDA_TRUST = {"Service": ["lambda.amazonaws.com"]}
ECS_TRUST = {"Service": ["ecs-tasks.amazonaws.com"]}


def service_role(acct, name, trust, inline_actions):
    """A workload role (Lambda, ECS task) with one scoped managed policy."""
    arn = "arn:aws:iam::%s:role/%s" % (acct, name)
    if arn in native_ids:
        return arn
    cfg = {"roleName": name, "roleId": "AROA" + hexid(16).upper(), "arn": arn, "path": "/service/", "createDate": ts(rng.randint(30, 400)),
           "assumeRolePolicyDocument": policy_doc([{"Effect": "Allow", "Principal": trust, "Action": ["sts:AssumeRole"]}]),
           "attachedManagedPolicies": [{"policyName": "AWSLambdaBasicExecutionRole", "policyArn": "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"}]
           if trust is LAMBDA_TRUST else [],
           "rolePolicyList": [], "instanceProfileList": [], "roleLastUsed": {"lastUsedDate": ts(0, 3), "region": "eu-west-1"}}
    return asset(acct, "global", "aws.iam.role", arn, name, None, cfg)


def function(env, acct, region, name, runtime, role_name, *, url_cors=None, kms=None):
    arn = "arn:aws:lambda:%s:%s:function:%s" % (region, acct, name)
    role = service_role(acct, role_name, LAMBDA_TRUST, [])
    cfg = {"functionName": name, "functionArn": arn, "runtime": runtime, "packageType": "Zip",
           "role": "arn:aws:iam::%s:role/%s" % (acct, role_name), "handler": "index.handler", "timeout": 30, "memorySize": 512,
           "vpcConfig": {"subnetIds": [], "securityGroupIds": []}, "functionUrlConfigs": [],
           "inspectorCoverage": {"scanType": "PACKAGE", "scanStatus": {"statusCode": "ACTIVE", "reason": "SUCCESSFUL"}}}
    if kms:
        cfg["kmsKeyArn"] = kms
    if url_cors is not None:
        cfg["functionUrlConfigs"] = [{"functionUrl": "https://%s.lambda-url.%s.on.aws/" % (hexid(32), region), "authType": "NONE",
                                      "cors": {"allowOrigins": url_cors, "allowMethods": ["GET", "POST"]}}]
    nid = asset(acct, region, "aws.lambda.function", arn, name, {"env": env}, cfg)
    rel(nid, role, "uses")
    return nid


def task_definition(env, acct, region, family, containers, *, network_mode="awsvpc", pid_mode=None, role=None):
    arn = "arn:aws:ecs:%s:%s:task-definition/%s:%d" % (region, acct, family, rng.randint(3, 40))
    cfg = {"taskDefinitionArn": arn, "family": family, "revision": int(arn.rsplit(":", 1)[1]), "status": "ACTIVE",
           "networkMode": network_mode, "requiresCompatibilities": ["FARGATE"] if network_mode == "awsvpc" else ["EC2"],
           "containerDefinitions": containers, "inUse": True,
           "executionRoleArn": "arn:aws:iam::%s:role/ecsTaskExecutionRole" % acct}
    if pid_mode:
        cfg["pidMode"] = pid_mode
    if role:
        cfg["taskRoleArn"] = "arn:aws:iam::%s:role/%s" % (acct, role)
    return asset(acct, region, "aws.ecs.task_definition", arn, "%s:%s" % (family, cfg["revision"]), {"env": env}, cfg), arn


def container(name, image, *, privileged=False, user="1000", read_only=True, env=None, secrets=None):
    c = {"name": name, "image": image, "essential": True, "privileged": privileged, "readonlyRootFilesystem": read_only,
         "environment": env or [], "secrets": secrets or []}
    if user:
        c["user"] = user
    return c


def ecs(env, acct, region, net, cluster_name, services):
    carn = "arn:aws:ecs:%s:%s:cluster/%s" % (region, acct, cluster_name)
    cluster = asset(acct, region, "aws.ecs.cluster", carn, cluster_name, {"env": env}, {
        "clusterName": cluster_name, "clusterArn": carn, "status": "ACTIVE",
        "settings": [{"name": "containerInsights", "value": "enabled"}],
        "runningTasksCount": sum(s[3] for s in services), "activeServicesCount": len(services)})
    for name, td, public_ip, count, platform in services:
        td_nid, td_arn = td
        sarn = "arn:aws:ecs:%s:%s:service/%s/%s" % (region, acct, cluster_name, name)
        subnets = [sid for (_, sid, tier) in net["subnets"] if tier == ("public" if public_ip else "private")]
        s = asset(acct, region, "aws.ecs.service", sarn, name, {"env": env}, {
            "serviceName": name, "serviceArn": sarn, "clusterArn": carn, "status": "ACTIVE", "launchType": "FARGATE",
            "platformVersion": platform, "platformFamily": "Linux", "desiredCount": count, "runningCount": count,
            "taskDefinition": td_arn,
            "networkConfiguration": {"awsvpcConfiguration": {"subnets": subnets, "securityGroups": [net["sgs"]["app"][1]],
                                                             "assignPublicIp": "ENABLED" if public_ip else "DISABLED"}}})
        rel(s, cluster, "contained_in")
        rel(s, td_nid, "uses")
        rel(s, net["sgs"]["app"][0], "uses")


def load_balancer(env, acct, region, net, name, lb_type, listeners, *, logs=True, scheme="internet-facing"):
    kind = "app" if lb_type == "application" else "net"
    arn = "arn:aws:elasticloadbalancing:%s:%s:loadbalancer/%s/%s/%s" % (region, acct, kind, name, hexid(16))
    cfg = {"loadBalancerName": name, "loadBalancerArn": arn, "type": lb_type, "scheme": scheme, "state": {"code": "active"},
           "vpcId": net["vpc_id"], "dnsName": "%s-%s.%s.elb.amazonaws.com" % (name, rng.randint(10 ** 8, 10 ** 9), region),
           "securityGroups": [net["sgs"]["web"][1]] if lb_type == "application" else [],
           "attributes": [{"key": "access_logs.s3.enabled", "value": "true" if logs else "false"},
                          {"key": "deletion_protection.enabled", "value": "true"}],
           "listeners": []}
    if logs:
        cfg["attributes"].append({"key": "access_logs.s3.bucket", "value": "acme-%s-access-logs" % env})
    cert = "arn:aws:acm:%s:%s:certificate/%s" % (region, acct, hexid(32))
    for port, proto, policy, action in listeners:
        l = {"listenerArn": arn.replace(":loadbalancer/", ":listener/") + "/" + hexid(16), "port": port, "protocol": proto,
             "certificates": [{"certificateArn": cert}] if proto in ("HTTPS", "TLS") else [], "defaultActions": [action]}
        if policy:
            l["sslPolicy"] = policy
        cfg["listeners"].append(l)
    nid = asset(acct, region, "aws.elbv2.load_balancer", arn, name, {"env": env}, cfg)
    if lb_type == "application":
        rel(nid, net["sgs"]["web"][0], "uses")
    return nid


FORWARD = {"type": "forward"}
REDIRECT_HTTPS = {"type": "redirect", "redirectConfig": {"protocol": "HTTPS", "port": "443", "statusCode": "HTTP_301"}}
TLS13 = "ELBSecurityPolicy-TLS13-1-2-2021-06"


def messaging(env, acct, region, kms):
    for name, encrypted in (("security-alerts", True), ("%s-deploy-events" % env, env != "staging")):
        arn = "arn:aws:sns:%s:%s:%s" % (region, acct, name)
        cfg = {"topicArn": arn, "displayName": name, "subscriptionsConfirmed": 2, "subscriptionsPending": 0}
        if encrypted:
            cfg["kmsMasterKeyId"] = kms
        asset(acct, region, "aws.sns.topic", arn, name, {"env": env}, cfg)
    if env != "security":
        name = "%s-clickstream" % env
        arn = "arn:aws:kinesis:%s:%s:stream/%s" % (region, acct, name)
        asset(acct, region, "aws.kinesis.stream", arn, name, {"env": env}, {
            "streamName": name, "streamARN": arn, "streamStatus": "ACTIVE", "encryptionType": "KMS", "keyId": kms,
            "retentionPeriodHours": 24 if env == "staging" else 168, "streamModeDetails": {"streamMode": "ON_DEMAND"}})


def table(env, acct, region, name, kms):
    arn = "arn:aws:dynamodb:%s:%s:table/%s" % (region, acct, name)
    asset(acct, region, "aws.dynamodb.table", arn, name, {"env": env}, {
        "tableName": name, "tableArn": arn, "tableStatus": "ACTIVE",
        "sseDescription": {"status": "ENABLED", "sseType": "KMS", "kmsMasterKeyArn": kms},
        "billingModeSummary": {"billingMode": "PAY_PER_REQUEST"},
        "continuousBackups": {"continuousBackupsStatus": "ENABLED",
                              "pointInTimeRecoveryDescription": {"pointInTimeRecoveryStatus": "ENABLED",
                                                                 "earliestRestorableDateTime": ts(35), "latestRestorableDateTime": ts(0, 0)}}})


def image(env, acct, region, name, public=False):
    iid = "ami-0" + hexid(16)
    asset(acct, region, "aws.ec2.image", "arn:aws:ec2:%s::image/%s" % (region, iid), name, {"env": env}, {
        "imageId": iid, "name": name, "state": "available", "public": public, "ownerId": acct,
        "creationDate": ts(rng.randint(5, 200)), "platformDetails": "Linux/UNIX", "architecture": "x86_64"})

# ---------------------------------------------------------------- IAM

AWS_MANAGED = {
    "AdministratorAccess": policy_doc([{"Effect": "Allow", "Action": ["*"], "Resource": ["*"]}]),
    "ReadOnlyAccess": policy_doc([{"Effect": "Allow", "Action": ["ec2:Describe*", "s3:Get*", "s3:List*", "iam:Get*", "iam:List*"], "Resource": ["*"]}]),
    "AWSSupportAccess": policy_doc([{"Effect": "Allow", "Action": ["support:*"], "Resource": ["*"]}]),
    "PowerUserAccess": policy_doc([{"Effect": "Allow", "NotAction": ["iam:*", "organizations:*", "account:*"], "Resource": ["*"]}]),
}


def iam(env, acct):
    out = {"policies": {}, "groups": {}, "roles": {}}

    def managed(name, doc, attachments, aws=False):
        arn = "arn:aws:iam::aws:policy/%s" % name if aws else "arn:aws:iam::%s:policy/%s" % (acct, name)
        native = arn if not aws else "%s#%s" % (arn, acct)
        cfg = {"policyName": name, "policyId": "ANPA" + hexid(16).upper(), "arn": arn, "path": "/", "defaultVersionId": "v1",
               "attachmentCount": attachments, "permissionsBoundaryUsageCount": 0, "isAttachable": True,
               "createDate": ts(rng.randint(200, 1500)), "updateDate": ts(rng.randint(10, 199)),
               "policyVersionList": [{"versionId": "v1", "isDefaultVersion": True, "createDate": ts(300), "document": doc}],
               "document": doc}
        out["policies"][name] = (asset(acct, "global", "aws.iam.policy", native, name, None, cfg), arn)

    managed("AdministratorAccess", AWS_MANAGED["AdministratorAccess"], 2, aws=True)
    managed("ReadOnlyAccess", AWS_MANAGED["ReadOnlyAccess"], 2, aws=True)
    managed("acme-app-s3", policy_doc([{"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": ["arn:aws:s3:::acme-%s-*/*" % env]}]), 2)
    managed("acme-deploy", policy_doc([{"Effect": "Allow", "Action": ["ecs:UpdateService", "ecr:*", "s3:*"], "Resource": ["*"]}]), 1)
    if env == "staging":
        managed("everything", policy_doc([{"Effect": "Allow", "Action": ["*"], "Resource": ["*"]}]), 1)
    managed("old-admin-unused", policy_doc([{"Effect": "Allow", "Action": ["*"], "Resource": ["*"]}]), 0)
    if env != "staging":
        managed("AWSSupportAccess", AWS_MANAGED["AWSSupportAccess"], 1, aws=True)

    def group(name, policies):
        arn = "arn:aws:iam::%s:group/%s" % (acct, name)
        cfg = {"groupName": name, "groupId": "AGPA" + hexid(16).upper(), "arn": arn, "path": "/", "createDate": ts(rng.randint(300, 1500)),
               "attachedManagedPolicies": [{"policyName": p, "policyArn": out["policies"][p][1]} for p in policies], "groupPolicyList": []}
        nid = asset(acct, "global", "aws.iam.group", arn, name, None, cfg)
        for p in policies:
            rel(nid, out["policies"][p][0], "attached_to")
        out["groups"][name] = nid

    group("admins", ["AdministratorAccess"])
    group("developers", ["ReadOnlyAccess", "acme-app-s3"])
    group("auditors", ["ReadOnlyAccess"])

    def role(name, trust, policies, inline=None):
        arn = "arn:aws:iam::%s:role/%s" % (acct, name)
        cfg = {"roleName": name, "roleId": "AROA" + hexid(16).upper(), "arn": arn, "path": "/", "createDate": ts(rng.randint(100, 1200)),
               "assumeRolePolicyDocument": policy_doc([{"Effect": "Allow", "Principal": trust, "Action": ["sts:AssumeRole"]}]),
               "attachedManagedPolicies": [{"policyName": p, "policyArn": out["policies"][p][1]} for p in policies],
               "rolePolicyList": inline or [], "instanceProfileList": [], "roleLastUsed": {"lastUsedDate": ts(rng.randint(0, 20)), "region": "eu-west-1"}}
        nid = asset(acct, "global", "aws.iam.role", arn, name, None, cfg)
        for p in policies:
            rel(nid, out["policies"][p][0], "attached_to")
        out["roles"][name] = (nid, arn)

    role("app-server", {"Service": ["ec2.amazonaws.com"]}, ["acme-app-s3"])
    role("OrganizationAccountAccessRole", {"AWS": ["arn:aws:iam::777788889999:root"]}, ["AdministratorAccess"])
    if env != "staging":
        role("aws-support", {"AWS": ["arn:aws:iam::%s:root" % acct]}, ["AWSSupportAccess"])
    if env == "staging":
        role("legacy-admin", {"AWS": ["arn:aws:iam::%s:root" % acct]}, ["everything"],
             [{"policyName": "admin-inline", "policyDocument": policy_doc([{"Effect": "Allow", "Action": ["*"], "Resource": ["*"]}])}])
    return out


def user(env, acct, groups, name, *, password=True, mfa=True, last_login=3, keys=(), direct=(), inline=None, created=700):
    arn = "arn:aws:iam::%s:user/%s" % (acct, name)
    cfg = {
        "userName": name, "userId": "AIDA" + hexid(16).upper(), "arn": arn, "path": "/", "createDate": ts(created),
        "groupList": [g for g in groups], "attachedManagedPolicies": [{"policyName": p, "policyArn": "arn:aws:iam::aws:policy/%s" % p} for p in direct],
        "userPolicyList": inline or [], "passwordEnabled": password, "mfaActive": mfa,
        "accessKeys": [],
    }
    if password:
        cfg["passwordLastChanged"] = ts(created - 5)
        if last_login is not None:
            cfg["passwordLastUsed"] = ts(last_login)
    for i, (status, age, used) in enumerate(keys):
        k = {"accessKeyId": "AKIA" + hexid(16).upper(), "status": status, "createDate": ts(age)}
        if used is not None:
            k["lastUsedDate"] = ts(used)
        cfg["accessKeys"].append(k)
    return asset(acct, "global", "aws.iam.user", arn, name, None, cfg), cfg


# ---------------------------------------------------------------- account-level

PATTERNS = {
    "4.1": ("UnauthorizedAPICalls", '{ ($.errorCode = "*UnauthorizedOperation") || ($.errorCode = "AccessDenied*") && ($.sourceIPAddress != "delivery.logs.amazonaws.com") && ($.eventName != "HeadBucket") }'),
    "4.2": ("ConsoleSigninWithoutMFA", '{ ($.eventName = "ConsoleLogin") && ($.additionalEventData.MFAUsed != "Yes") && ($.userIdentity.type = "IAMUser") && ($.responseElements.ConsoleLogin = "Success") }'),
    "4.3": ("RootAccountUsage", '{ $.userIdentity.type = "Root" && $.userIdentity.invokedBy NOT EXISTS && $.eventType != "AwsServiceEvent" }'),
    "4.4": ("IAMPolicyChanges", "{ " + " || ".join("($.eventName = %s)" % e for e in ["DeleteGroupPolicy", "DeleteRolePolicy", "DeleteUserPolicy", "PutGroupPolicy", "PutRolePolicy", "PutUserPolicy", "CreatePolicy", "DeletePolicy", "CreatePolicyVersion", "DeletePolicyVersion", "AttachRolePolicy", "DetachRolePolicy", "AttachUserPolicy", "DetachUserPolicy", "AttachGroupPolicy", "DetachGroupPolicy"]) + " }"),
    "4.5": ("CloudTrailConfigChanges", "{ ($.eventName = CreateTrail) || ($.eventName = UpdateTrail) || ($.eventName = DeleteTrail) || ($.eventName = StartLogging) || ($.eventName = StopLogging) }"),
    "4.6": ("ConsoleSigninFailures", '{ ($.eventName = ConsoleLogin) && ($.errorMessage = "Failed authentication") }'),
    "4.7": ("DisableOrDeleteCMK", "{ ($.eventSource = kms.amazonaws.com) && (($.eventName = DisableKey) || ($.eventName = ScheduleKeyDeletion)) }"),
    "4.8": ("S3BucketPolicyChanges", "{ ($.eventSource = s3.amazonaws.com) && (" + " || ".join("($.eventName = %s)" % e for e in ["PutBucketAcl", "PutBucketPolicy", "PutBucketCors", "PutBucketLifecycle", "PutBucketReplication", "DeleteBucketPolicy", "DeleteBucketCors", "DeleteBucketLifecycle", "DeleteBucketReplication"]) + ") }"),
    "4.9": ("AWSConfigChanges", "{ ($.eventSource = config.amazonaws.com) && (($.eventName = StopConfigurationRecorder) || ($.eventName = DeleteDeliveryChannel) || ($.eventName = PutDeliveryChannel) || ($.eventName = PutConfigurationRecorder)) }"),
    "4.10": ("SecurityGroupChanges", "{ " + " || ".join("($.eventName = %s)" % e for e in ["AuthorizeSecurityGroupIngress", "AuthorizeSecurityGroupEgress", "RevokeSecurityGroupIngress", "RevokeSecurityGroupEgress", "CreateSecurityGroup", "DeleteSecurityGroup"]) + " }"),
    "4.11": ("NACLChanges", "{ " + " || ".join("($.eventName = %s)" % e for e in ["CreateNetworkAcl", "CreateNetworkAclEntry", "DeleteNetworkAcl", "DeleteNetworkAclEntry", "ReplaceNetworkAclEntry", "ReplaceNetworkAclAssociation"]) + " }"),
    "4.12": ("NetworkGatewayChanges", "{ " + " || ".join("($.eventName = %s)" % e for e in ["CreateCustomerGateway", "DeleteCustomerGateway", "AttachInternetGateway", "CreateInternetGateway", "DeleteInternetGateway", "DetachInternetGateway"]) + " }"),
    "4.13": ("RouteTableChanges", "{ " + " || ".join("($.eventName = %s)" % e for e in ["CreateRoute", "CreateRouteTable", "ReplaceRoute", "ReplaceRouteTableAssociation", "DeleteRouteTable", "DeleteRoute", "DisassociateRouteTable"]) + " }"),
    "4.14": ("VPCChanges", "{ " + " || ".join("($.eventName = %s)" % e for e in ["CreateVpc", "DeleteVpc", "ModifyVpcAttribute", "AcceptVpcPeeringConnection", "CreateVpcPeeringConnection", "DeleteVpcPeeringConnection", "RejectVpcPeeringConnection", "AttachClassicLinkVpc", "DetachClassicLinkVpc", "DisableVpcClassicLink", "EnableVpcClassicLink"]) + " }"),
    "4.15": ("OrganizationsChanges", "{ ($.eventSource = organizations.amazonaws.com) && (" + " || ".join('($.eventName = "%s")' % e for e in ["AcceptHandshake", "AttachPolicy", "CreateAccount", "CreateOrganizationalUnit", "CreatePolicy", "DeclineHandshake", "DeleteOrganization", "DeleteOrganizationalUnit", "DeletePolicy", "DetachPolicy", "DisablePolicyType", "EnablePolicyType", "InviteAccountToOrganization", "LeaveOrganization", "MoveAccount", "RemoveAccountFromOrganization", "UpdatePolicy", "UpdateOrganizationalUnit"]) + ") }"),
}


def metric_filters(acct, which, topic_subscribers):
    out = []
    topic = "arn:aws:sns:eu-west-1:%s:security-alerts" % acct
    for n in which:
        metric, pattern = PATTERNS[n]
        subs = topic_subscribers(n)
        alarms = [] if subs is None else [{"alarmName": "cis-" + metric, "stateValue": "OK", "actions": [topic], "snsSubscriptions": subs}]
        out.append({"logGroupName": "aws-cloudtrail-logs", "filterName": metric, "filterPattern": pattern,
                    "metricTransformations": [{"metricName": metric, "metricNamespace": "CISBenchmark"}], "alarms": alarms})
    return out


def monitoring_chain(acct, region, trail_id, trail_cfg, filters, subscribers):
    """The CIS 4.x chain as assets: trail → log group ← metric filter ← alarm → topic ← subscription.

    No random draws, so that adding the chain leaves every other generated value as it was."""
    group_arn = trail_cfg["cloudWatchLogsLogGroupArn"].rsplit(":*", 1)[0]
    group_name = group_arn.rsplit(":", 1)[1]
    asset(acct, region, "aws.logs.log_group", group_arn, group_name, None,
          {"logGroupName": group_name, "arn": group_arn, "creationTime": ts(900), "retentionInDays": 365,
           "kmsKeyId": trail_cfg.get("kmsKeyId"), "metricFilterCount": len(filters)} if trail_cfg.get("kmsKeyId") else
          {"logGroupName": group_name, "arn": group_arn, "creationTime": ts(900), "retentionInDays": 365,
           "metricFilterCount": len(filters)})
    rel(trail_id, group_arn, "delivers_to")
    if trail_cfg.get("kmsKeyId"):
        rel(group_arn, trail_cfg["kmsKeyId"], "encrypted_by")
    topics = set()
    for f in filters:
        fid = "%s:metric-filter:%s" % (group_arn, f["filterName"])
        mt = [dict(m, metricValue="1") for m in f["metricTransformations"]]
        asset(acct, region, "aws.logs.metric_filter", fid, f["filterName"], None,
              {"filterName": f["filterName"], "logGroupName": group_name, "filterPattern": f["filterPattern"],
               "metricTransformations": mt, "creationTime": ts(900)})
        rel(fid, group_arn, "filters")
        for a in f["alarms"]:
            arn = "arn:aws:cloudwatch:%s:%s:alarm:%s" % (region, acct, a["alarmName"])
            m = mt[0]
            asset(acct, region, "aws.cloudwatch.alarm", arn, a["alarmName"], None,
                  {"alarmName": a["alarmName"], "alarmArn": arn, "metricName": m["metricName"], "namespace": m["metricNamespace"],
                   "statistic": "Sum", "period": 300, "evaluationPeriods": 1, "threshold": 1.0,
                   "comparisonOperator": "GreaterThanOrEqualToThreshold", "actionsEnabled": True,
                   "alarmActions": a["actions"], "okActions": [], "insufficientDataActions": [], "stateValue": a["stateValue"]})
            rel(arn, fid, "watches")
            for topic in a["actions"]:
                rel(arn, topic, "notifies")
                topics.add(topic)
    for topic in sorted(topics):
        for i, (protocol, endpoint) in enumerate([("email", "*@acme.example"), ("https", "https://events.pagerduty.com"),
                                                  ("email", "*@acme.example")][:subscribers]):
            sub = "%s:%08x-0000-4000-8000-%012d" % (topic, i + 1, i + 1)
            asset(acct, region, "aws.sns.subscription", sub, "%s:%s" % (protocol, endpoint), None,
                  {"subscriptionArn": sub, "topicArn": topic, "protocol": protocol, "endpoint": endpoint,
                   "owner": acct, "confirmed": True, "pendingConfirmation": False})
            rel(sub, topic, "subscribes_to")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-o", "--output", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "demo.jsonl"))
    args = ap.parse_args()

    lines.clear()
    native_ids.clear()
    header = {"rampart_snapshot": 1, "generated_at": GENERATED_AT.strftime("%Y-%m-%dT%H:%M:%SZ"),
              "source": "content/samples/generate_demo.py (Acme demo organisation)"}

    for env, info in ACCOUNTS.items():
        acct = info["id"]
        home = info["home"]
        good = env != "staging"

        keys = {region: kms_keys(env, acct, region) for region in info["regions"][:2]}
        hk = keys[home]

        # -- IAM
        ids = iam(env, acct)
        asset(acct, "global", "aws.iam.password_policy", "%s/password-policy" % acct, "password policy", None,
              {"minimumPasswordLength": 16, "requireSymbols": True, "requireNumbers": True, "requireUppercaseCharacters": True,
               "requireLowercaseCharacters": True, "allowUsersToChangePassword": True, "expirePasswords": True, "maxPasswordAge": 90,
               "passwordReusePrevention": 24, "hardExpiry": False} if good else
              {"minimumPasswordLength": 8, "requireSymbols": False, "requireNumbers": True, "requireUppercaseCharacters": True,
               "requireLowercaseCharacters": True, "allowUsersToChangePassword": True, "expirePasswords": False, "passwordReusePrevention": 3})
        root = {"arn": "arn:aws:iam::%s:root" % acct, "passwordLastUsed": ts(60 if good else 41), "mfaActive": True,
                "accessKey1Active": False, "accessKey2Active": False, "accountMfaEnabled": True, "accountAccessKeysPresent": False,
                "virtualMfaSerialNumbers": []}
        asset(acct, "global", "aws.iam.root_user", root["arn"], "root", None, root)

        people = {
            "prod": [
                ("alice.martin", ["admins"], dict(mfa=True, keys=[("Active", 30, 1)])),
                ("bob.nguyen", ["developers"], dict(mfa=True, keys=[("Active", 200, 2)])),
                ("carla.silva", ["developers"], dict(mfa=False, last_login=10)),
                ("dmitri.ivanov", ["auditors"], dict(mfa=True, last_login=80)),
                ("erin.obrien", ["developers"], dict(mfa=True, keys=[("Active", 40, 3), ("Active", 400, 120)])),
                ("ci-deploy", [], dict(password=False, mfa=False, keys=[("Active", 60, 0)], direct=["PowerUserAccess"])),
                ("backup-agent", [], dict(password=False, mfa=False, keys=[("Active", 700, 200)],
                                          inline=[{"policyName": "backup-s3", "policyDocument": policy_doc([{"Effect": "Allow", "Action": ["s3:PutObject"], "Resource": ["arn:aws:s3:::acme-prod-backups/*"]}])}])),
                ("frank.new", ["developers"], dict(mfa=False, last_login=None, created=10)),
            ],
            "staging": [
                ("alice.martin", ["admins"], dict(mfa=True)),
                ("george.test", ["admins"], dict(mfa=False, last_login=5, direct=["AdministratorAccess"])),
                ("hana.qa", ["developers"], dict(mfa=False, last_login=100, keys=[("Active", 500, None)])),
                ("loadtest", [], dict(password=False, mfa=False, keys=[("Active", 150, 1), ("Inactive", 400, 300)])),
                ("ivan.contractor", ["developers"], dict(mfa=True, last_login=200, created=400)),
            ],
            "security": [
                ("sam.secops", ["admins"], dict(mfa=True, last_login=1)),
                ("tara.ir", ["auditors"], dict(mfa=True, last_login=4)),
                ("siem-reader", [], dict(password=False, mfa=False, keys=[("Active", 20, 0)])),
            ],
        }[env]
        for name, groups, kw in people:
            uid, _ = user(env, acct, groups, name, **kw)
            for g in groups:
                rel(uid, ids["groups"][g], "member_of")
            for p in kw.get("direct", []):
                if p in ids["policies"]:
                    rel(uid, ids["policies"][p][0], "attached_to")

        cert_name = "www-%s" % env
        asset(acct, "global", "aws.iam.server_certificate", "arn:aws:iam::%s:server-certificate/%s" % (acct, cert_name), cert_name, None,
              {"serverCertificateName": cert_name, "serverCertificateId": "ASCA" + hexid(16).upper(),
               "arn": "arn:aws:iam::%s:server-certificate/%s" % (acct, cert_name), "path": "/",
               "uploadDate": ts(500), "expiration": ts(-200)})

        # -- S3
        logs_bucket = "acme-%s-access-logs" % env
        # prod and security replicate every bucket to a DR copy in the security account; staging does not
        dr = lambda b: b + "-dr"
        bucket(env, acct, home, logs_bucket, versioning="Enabled", encryption="AES256", kms=None, logging_to=logs_bucket, replicate_to=dr(logs_bucket))
        trail_bucket = "acme-%s-cloudtrail" % env
        trail_arn = "arn:aws:cloudtrail:%s:%s:trail/%s-trail" % (home, acct, env)
        bucket(env, acct, home, trail_bucket, mfa_delete=True, logging_to=logs_bucket, kms=hk["logs"], replicate_to=dr(trail_bucket), trail_arn=trail_arn)
        if env == "prod":
            bucket(env, acct, home, "acme-prod-invoices", mfa_delete=True, logging_to=logs_bucket, kms=hk["data"], tags={"data-class": "confidential"}, replicate_to=dr("acme-prod-invoices"))
            bucket(env, acct, home, "acme-prod-uploads", logging_to=logs_bucket, kms=hk["data"], replicate_to=dr("acme-prod-uploads"))
            bucket(env, acct, home, "acme-prod-backups", logging_to=logs_bucket, kms=hk["data"], replicate_to=dr("acme-prod-backups"))
            bucket(env, acct, "us-east-1", "acme-www", pab=False, public_policy=True, encryption="AES256", logging_to=logs_bucket, replicate_to=dr("acme-www"))
            bucket(env, acct, "eu-central-1", "acme-prod-analytics-eu", encryption="AES256", logging_to=logs_bucket, replicate_to=dr("acme-prod-analytics-eu"))
            bucket(env, acct, home, "acme-prod-build-cache", encryption="AES256", logging_to=logs_bucket, replicate_to=dr("acme-prod-build-cache"))
        elif env == "staging":
            bucket(env, acct, home, "acme-staging-uploads", pab=None, encryption="AES256", logging_to=logs_bucket, replicate_to=dr("acme-staging-uploads"))
            bucket(env, acct, home, "acme-staging-fixtures", pab=False, public_policy=True, public_acl=True, encryption="AES256", logging_to=logs_bucket, replicate_to=dr("acme-staging-fixtures"))
            bucket(env, acct, "us-east-1", "acme-staging-data", kms=keys["us-east-1"]["data"], logging_to=logs_bucket, replicate_to=dr("acme-staging-data"))
        else:
            bucket(env, acct, home, "acme-security-flow-logs", logging_to=logs_bucket, kms=hk["logs"], replicate_to=dr("acme-security-flow-logs"))
            bucket(env, acct, home, "acme-security-config", logging_to=logs_bucket, kms=hk["logs"], replicate_to=dr("acme-security-config"))
            bucket(env, acct, home, "acme-security-forensics", mfa_delete=True, logging_to=logs_bucket, kms=hk["data"], replicate_to=dr("acme-security-forensics"))

        # -- CloudTrail
        trails = []
        if False:  # (kept for reference: a single-region trail without validation)
            trail_cfg = {"name": "staging-trail", "homeRegion": home, "s3BucketName": trail_bucket, "isMultiRegionTrail": False,
                         "includeGlobalServiceEvents": True, "isOrganizationTrail": False, "logFileValidationEnabled": False,
                         "isLogging": True, "eventSelectors": [{"readWriteType": "WriteOnly", "includeManagementEvents": True, "dataResources": [], "excludeManagementEventSources": []}],
                         "s3BucketLogging": {"enabled": False}}
        else:
            data_sel = [{"type": "AWS::S3::Object", "values": ["arn:aws:s3"]}]
            trail_cfg = {"name": "%s-trail" % env, "homeRegion": home, "s3BucketName": trail_bucket, "isMultiRegionTrail": True,
                         "includeGlobalServiceEvents": True, "isOrganizationTrail": False, "logFileValidationEnabled": True,
                         "kmsKeyId": hk["logs"].replace("arn:aws:kms", "arn:aws:kms"),
                         "cloudWatchLogsLogGroupArn": "arn:aws:logs:%s:%s:log-group:aws-cloudtrail-logs:*" % (home, acct),
                         "cloudWatchLogsRoleArn": "arn:aws:iam::%s:role/cloudtrail-cloudwatch" % acct,
                         "isLogging": True, "latestCloudWatchLogsDeliveryTime": ts(0, 1),
                         "eventSelectors": [{"readWriteType": "All", "includeManagementEvents": True, "dataResources": data_sel, "excludeManagementEventSources": []}],
                         "s3BucketLogging": {"enabled": True, "targetBucket": logs_bucket, "targetPrefix": trail_bucket + "/"}}
            if env == "security":
                trail_cfg["advancedEventSelectors"] = []
        trail_cfg["trailARN"] = "arn:aws:cloudtrail:%s:%s:trail/%s" % (home, acct, trail_cfg["name"])
        t = asset(acct, home, "aws.cloudtrail.trail", trail_cfg["trailARN"], trail_cfg["name"], None, trail_cfg)
        rel(t, "arn:aws:s3:::%s" % trail_bucket, "delivers_to")
        if "kmsKeyId" in trail_cfg:
            rel(t, hk["logs"], "encrypted_by")
        trails.append({k: v for k, v in trail_cfg.items() if k in ("name", "trailARN", "homeRegion", "isMultiRegionTrail", "isOrganizationTrail", "isLogging", "s3BucketName", "cloudWatchLogsLogGroupArn", "eventSelectors", "advancedEventSelectors")})

        mf = metric_filters(acct, list(PATTERNS), lambda n: 3 if env == "security" else 2)
        monitoring_chain(acct, home, t, trail_cfg, mf, 3 if env == "security" else 2)
        asset(acct, "global", "aws.account", acct, "acme-%s" % env, {"env": env}, {
            "accountId": acct, "alias": "acme-%s" % env, "trails": trails, "metricFilters": mf, "monitoringCollected": True,
            "supportPolicyEntities": {"policyRoles": [{"roleName": "aws-support", "roleId": "AROA" + hexid(16).upper()}],
                                      "policyUsers": [], "policyGroups": []},
            "contactInformation": {"fullName": "Acme Cloud Operations", "companyName": "Acme GmbH", "addressLine1": "Friedrichstrasse 1",
                                   "city": "Berlin", "postalCode": "10117", "countryCode": "DE", "phoneNumber": "+49-30-5550100",
                                   "websiteUrl": "https://acme.example"},
            "alternateContacts": {"security": {"name": "Acme Security Team", "title": "Security", "emailAddress": "security@acme.example", "phoneNumber": "+49-30-5550199"},
                                  "billing": {"name": "Acme Finance", "title": "Accounts payable", "emailAddress": "ap@acme.example", "phoneNumber": "+49-30-5550111"}},
            "s3PublicAccessBlock": {k: env == "security" for k in ("blockPublicAcls", "ignorePublicAcls", "blockPublicPolicy", "restrictPublicBuckets")},
        })

        rel(acct, t, "contains")

        # -- regions
        # AWS Organizations guardrails enable Config, Access Analyzer, Security Hub, GuardDuty and Macie in
        # every region of every account; staging does not turn on EBS encryption by default.
        for region in ENABLED_REGIONS:
            recorder = [{"name": "default", "roleARN": "arn:aws:iam::%s:role/aws-config" % acct,
                         "recordingGroup": {"allSupported": True, "includeGlobalResourceTypes": region == home, "resourceTypes": []},
                         "recording": True, "lastStatus": "SUCCESS"}]
            analyzers = [{"name": "account-analyzer", "arn": "arn:aws:access-analyzer:%s:%s:analyzer/account-analyzer" % (region, acct),
                          "type": "ACCOUNT", "status": "ACTIVE"}]
            cfg = {"regionName": region, "optInStatus": "opt-in-not-required",
                   "ebsEncryptionByDefault": good,
                   "accessAnalyzers": analyzers, "configRecorders": recorder,
                   "securityHub": {"enabled": True},
                   "guardDuty": {"detectorId": hexid(32), "status": "ENABLED"},
                   "macie": {"status": "ENABLED"}}
            if cfg["ebsEncryptionByDefault"]:
                cfg["ebsDefaultKmsKeyId"] = "alias/aws/ebs"
            if cfg["securityHub"]["enabled"]:
                cfg["securityHub"].update({"hubArn": "arn:aws:securityhub:%s:%s:hub/default" % (region, acct), "subscribedAt": ts(300)})
            asset(acct, region, "aws.account.region", "%s/%s" % (acct, region), region, None, cfg)

        # -- networks, compute, data
        for i, region in enumerate(info["regions"]):
            prefix = "10.%d" % ({"prod": 10, "staging": 20, "security": 30}[env] + i)
            net = network(env, acct, region, prefix, flow_logs=True, strict_default_sg=True)
            dnet = network(env, acct, region, prefix, default_vpc_only=True, flow_logs=True, strict_default_sg=True) if i == 0 and env != "security" else None
            rk = keys.get(region, hk)
            role = ids["roles"]["app-server"]
            if env == "prod" and region == home:
                for n in range(3):
                    instance(env, acct, region, net, "prod-api-%d" % (n + 1), sgs=("app",), role=role, volumes=((20, True), (100, True)), kms=rk["data"])
                instance(env, acct, region, net, "prod-web-1", tier="public", sgs=("web",), role=role, volumes=((20, True),), kms=rk["data"])
                instance(env, acct, region, net, "prod-batch-legacy", sgs=("app",), role=role, volumes=((50, False),))
                instance(env, acct, region, net, "prod-win-jump", tier="public", sgs=("windows-jump",), role=role, volumes=((60, True),), kms=rk["data"])
                instance(env, acct, region, net, "prod-bastion", tier="public", sgs=("bastion-v6",), role=role, volumes=((8, True),), kms=rk["data"])
                rds(env, acct, region, net, "orders", kms=rk["data"], backups=14)
                rds(env, acct, region, net, "billing", kms=rk["data"], engine="aurora-postgresql", backups=35)
                rds(env, acct, region, net, "reporting", engine="mysql", backups=7, kms=rk["data"])
                efs(env, acct, region, "prod-shared-uploads", kms=rk["data"])
                efs(env, acct, region, "prod-legacy-home", kms=rk["data"])
                function(env, acct, region, "orders-api", "python3.13", "orders-api-fn", kms=rk["data"])
                function(env, acct, region, "thumbnails", "nodejs22.x", "thumbnails-fn")
                function(env, acct, region, "public-status", "nodejs22.x", "public-status-fn", url_cors=["https://status.acme.example"])
                web_td = task_definition(env, acct, region, "web", [container("web", "111122223333.dkr.ecr.eu-west-1.amazonaws.com/web:2026.10.3",
                                                                              secrets=[{"name": "DB_PASSWORD", "valueFrom": "arn:aws:secretsmanager:eu-west-1:111122223333:secret:orders-db"}])], role="web-task")
                worker_td = task_definition(env, acct, region, "worker", [container("worker", "111122223333.dkr.ecr.eu-west-1.amazonaws.com/worker:2026.10.3",
                                                                                    env=[{"name": "LOG_LEVEL", "value": "info"}])], role="worker-task")
                ecs(env, acct, region, net, "prod", [("web", web_td, False, 6, "LATEST"), ("worker", worker_td, False, 3, "LATEST")])
                load_balancer(env, acct, region, net, "acme-prod-web", "application",
                              [(443, "HTTPS", TLS13, FORWARD), (80, "HTTP", None, REDIRECT_HTTPS)])
                load_balancer(env, acct, region, net, "acme-prod-partner-api", "application",
                              [(443, "HTTPS", "ELBSecurityPolicy-TLS13-1-2-Res-2021-06", FORWARD)])
                load_balancer(env, acct, region, net, "acme-prod-mqtt", "network", [(8883, "TLS", TLS13, FORWARD)])
                messaging(env, acct, region, rk["data"])
                table(env, acct, region, "orders-events", rk["data"])
                image(env, acct, region, "acme-base-2026-10")
                image(env, acct, region, "acme-web-2026-10-3")
            elif env == "prod":
                instance(env, acct, region, net, "prod-edge-%s" % region, tier="public", sgs=("web",), role=role, volumes=((20, True),), kms=rk["data"])
                if region == "us-east-1":
                    rds(env, acct, region, net, "orders-replica", kms=rk["data"], backups=7)
            elif env == "staging" and region == home:
                instance(env, acct, region, net, "staging-api-1", sgs=("app", "launch-wizard-1"), role=role, volumes=((20, False),))
                instance(env, acct, region, net, "staging-api-2", sgs=("app",), role=role, volumes=((20, True),), kms=rk["data"])
                instance(env, acct, region, net, "staging-debug", tier="public", sgs=("debug-all",), role=role, state="stopped", volumes=((30, False),))
                # A toxic combination for the graph controls: a running jump host on the internet with
                # SSH/RDP open, IMDSv1, an unencrypted disk and the administrator role.
                instance(env, acct, region, net, "staging-jump", tier="public", sgs=("debug-all",),
                         role=ids["roles"]["OrganizationAccountAccessRole"], imdsv2=False, volumes=((16, False),))
                rds(env, acct, region, net, "staging-orders", encrypted=False, public=True)
                rds(env, acct, region, net, "staging-billing", kms=rk["data"])
                efs(env, acct, region, "staging-shared", encrypted=False)
                function(env, acct, region, "legacy-report", "nodejs22.x", "legacy-report-fn")
                function(env, acct, region, "image-resize", "nodejs22.x", "image-resize-fn", url_cors=["*"])
                api_td = task_definition(env, acct, region, "api", [
                    container("api", "444455556666.dkr.ecr.eu-west-1.amazonaws.com/api:staging", user=None, read_only=True,
                              env=[{"name": "AWS_ACCESS_KEY_ID", "value": "AKIA" + hexid(16).upper()}, {"name": "AWS_SECRET_ACCESS_KEY", "value": "(redacted)"}]),
                    container("log-router", "public.ecr.aws/aws-observability/aws-for-fluent-bit:stable", user="1000")])
                ecs(env, acct, region, net, "staging", [("api", api_td, True, 2, "LATEST")])
                load_balancer(env, acct, region, net, "acme-staging-web", "application",
                              [(443, "HTTPS", TLS13, FORWARD), (80, "HTTP", None, REDIRECT_HTTPS)])
                messaging(env, acct, region, rk["data"])
                table(env, acct, region, "staging-sessions", rk["data"])
                image(env, acct, region, "staging-golden-2026-09", public=True)
            elif env == "staging":
                instance(env, acct, region, net, "staging-loadgen", tier="public", sgs=("web",), role=ids["roles"]["app-server"], volumes=((20, True),), kms=rk["data"])
            elif env == "security" and region == home:
                instance(env, acct, region, net, "siem-collector", sgs=("app",), role=role, volumes=((20, True), (500, True)), kms=rk["data"])
                efs(env, acct, region, "forensics-scratch", kms=rk["data"])
                function(env, acct, region, "guardduty-forwarder", "python3.12", "guardduty-forwarder-fn", kms=rk["logs"])
                messaging(env, acct, region, rk["logs"])
                image(env, acct, region, "siem-collector-2026-08")
            if dnet and env == "staging" and region == home:
                instance(env, acct, region, dnet, "forgotten-test-box", tier="default", sgs=("default",), role=ids["roles"]["app-server"], volumes=((8, False),))

    # Relationships may point forward; every endpoint must exist.
    for line in lines:
        if line["kind"] == "relationship":
            assert line["from"] in native_ids and line["to"] in native_ids, line

    with open(args.output, "w", encoding="utf-8") as f:
        f.write(json.dumps(header, separators=(", ", ": ")) + "\n")
        for line in lines:
            f.write(json.dumps(line, separators=(",", ":"), sort_keys=False) + "\n")
    n_assets = sum(1 for x in lines if x["kind"] == "asset")
    print("wrote %s: %d assets, %d relationships" % (args.output, n_assets, len(lines) - n_assets))


if __name__ == "__main__":
    main()
