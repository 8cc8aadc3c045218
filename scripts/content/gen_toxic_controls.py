# Writes content/controls/aws/toxic/*.yaml (toxic-combination controls); fixtures share network building blocks.
# Run from anywhere: python3 scripts/content/gen_toxic_controls.py
import json, os
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "content", "controls", "aws", "toxic")

def dump(v, ind=0):
    # JSON is valid YAML flow style: keep fixtures compact and exact.
    return json.dumps(v)

def subnet(public=True, nacl_open=True):
    rt_routes = [{"destinationCidrBlock": "10.0.0.0/16", "gatewayId": "local", "state": "active"}]
    if public:
        rt_routes.append({"destinationCidrBlock": "0.0.0.0/0", "gatewayId": "igw-0abc", "state": "active"})
    entries = [
        {"ruleNumber": 100, "protocol": "-1", "ruleAction": "allow" if nacl_open else "deny", "egress": False, "cidrBlock": "0.0.0.0/0"},
        {"ruleNumber": 32767, "protocol": "-1", "ruleAction": "deny", "egress": False, "cidrBlock": "0.0.0.0/0"},
    ]
    return {"kind": "contained_in", "asset": {"name": "subnet-public" if public else "subnet-private", "type": "aws.ec2.subnet",
            "config": {"subnetId": "subnet-1"},
            "related": [
                {"kind": "associated_with", "incoming": True, "asset": {"name": "rtb", "type": "aws.ec2.route_table", "config": {"routeTableId": "rtb-1", "routes": rt_routes}}},
                {"kind": "associated_with", "incoming": True, "asset": {"name": "acl", "type": "aws.ec2.network_acl", "config": {"networkAclId": "acl-1", "entries": entries}}},
            ]}}

def sg(ports, cidr="0.0.0.0/0", name="web-sg"):
    perms = []
    for p in ports:
        if p == "all":
            perms.append({"ipProtocol": "-1", "ipRanges": [{"cidrIp": cidr}], "ipv6Ranges": [], "userIdGroupPairs": [], "prefixListIds": []})
        else:
            perms.append({"ipProtocol": "tcp", "fromPort": p, "toPort": p, "ipRanges": [{"cidrIp": cidr}], "ipv6Ranges": [], "userIdGroupPairs": [], "prefixListIds": []})
    return {"kind": "uses", "asset": {"name": name, "type": "aws.ec2.security_group", "config": {"groupId": "sg-1", "ipPermissions": perms, "ipPermissionsEgress": []}}}

ADMIN_DOC = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["*"], "Resource": ["*"]}]}
READ_DOC = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": ["arn:aws:s3:::acme-assets/*"]}]}
PASSROLE_DOC = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["iam:PassRole", "lambda:CreateFunction", "lambda:InvokeFunction"], "Resource": ["*"]}]}

def role(doc, name="app-role"):
    return {"kind": "uses", "asset": {"name": name, "type": "aws.iam.role", "config": {"roleName": name, "rolePolicyList": []},
            "related": [{"kind": "attached_to", "asset": {"name": name + "-policy", "type": "aws.iam.policy", "config": {"policyName": name + "-policy", "document": doc}}}]}}

def instance(name, public_ip=True, imds="required", state="running", related=()):
    cfg = {"instanceId": "i-0" + name.replace("-", "")[:8], "state": {"name": state}, "metadataOptions": {"httpTokens": imds, "httpEndpoint": "enabled"}}
    if public_ip:
        cfg["publicIpAddress"] = "203.0.113.10"
    return {"name": name, "config": cfg, "related": list(related)}

def write(cid, title, severity, types, rationale, remediation, condition, reason, passes, fails, applies_if=None, refs=(), frameworks=None, xref=None):
    lines = [f"id: {cid}", f"title: {json.dumps(title)}", f"severity: {severity}", f"resource_types: [{', '.join(types)}]",
             "rationale: |", *["  " + l for l in rationale.strip().splitlines()],
             "remediation: |", *["  " + l for l in remediation.strip().splitlines()]]
    if refs:
        lines.append("references:")
        lines += [f"  - {r}" for r in refs]
    if frameworks:
        lines.append("frameworks:")
        for k, v in frameworks.items():
            lines.append(f"  {k}: {json.dumps(v)}")
    if xref:
        lines.append("cross_references:")
        for k, v in xref.items():
            lines.append(f"  {k}: {json.dumps(v)}")
    if applies_if:
        lines.append(f"applies_if: {json.dumps(applies_if)}")
    lines += ["condition: |", *["  " + l for l in condition.strip().splitlines()], f"failure_reason: {json.dumps(reason)}", "fixtures:", "  pass:"]
    lines += ["    - " + dump(p) for p in passes]
    lines.append("  fail:")
    lines += ["    - " + dump(f) for f in fails]
    with open(os.path.join(OUT, cid + ".yaml"), "w") as f:
        f.write("\n".join(lines) + "\n")

EXPOSED = lambda name, extra=(), **kw: instance(name, related=[subnet(), sg([443, 22])] + list(extra), **kw)

write("aws-toxic-exposed-instance-admin-role",
      "Internet-exposed instances do not carry an administrator role", "critical", ["aws.ec2.instance"],
      """
An instance anyone on the internet can reach is the most likely first foothold in an account. When its
instance role can do anything, a single exploited service or a stolen metadata credential hands the
attacker the whole account: every bucket, database and key, and the power to create new users.
""",
      """
Give the instance a role scoped to what its workload needs, or take it off the internet.

- Console: IAM → Roles → the instance's role → detach `AdministratorAccess` (or the custom `*:*` policy) and attach a least-privilege policy. Put the instance behind a load balancer in a private subnet.
- CLI: `aws iam detach-role-policy --role-name ROLE --policy-arn arn:aws:iam::aws:policy/AdministratorAccess`
- Terraform: replace the `aws_iam_role_policy_attachment` of the admin policy with a policy document listing only the needed actions and resources.
""",
      """
!(has(resource.computed.internet_exposed) && resource.computed.internet_exposed && resource.computed.admin_role)
""",
      "The instance is reachable from the internet and its role grants administrator privileges.",
      passes=[EXPOSED("web-least-privilege", [role(READ_DOC)]), instance("batch-private-admin", public_ip=False, related=[subnet(public=False), sg([22]), role(ADMIN_DOC)])],
      fails=[EXPOSED("web-admin", [role(ADMIN_DOC)])],
      refs=["https://docs.aws.amazon.com/IAM/latest/UserGuide/best-practices.html#grant-least-privilege"],
      frameworks=None, xref=None)

write("aws-toxic-exposed-instance-admin-ports-imdsv1",
      "Internet-exposed instances with open management ports require IMDSv2", "critical", ["aws.ec2.instance"],
      """
SSH or RDP open to the internet invites brute force and exploitation of the management service. If the
instance also answers IMDSv1, any server-side request forgery or a shell on the box can read the role's
temporary credentials with a plain GET. Together they turn a noisy port into stolen cloud credentials.
""",
      """
Close 22 and 3389 to the internet (use Session Manager or a bastion on a private network) and require IMDSv2.

- CLI: `aws ec2 modify-instance-metadata-options --instance-id ID --http-tokens required --http-endpoint enabled`
- CLI: `aws ec2 revoke-security-group-ingress --group-id SG --protocol tcp --port 22 --cidr 0.0.0.0/0`
- Terraform: `metadata_options { http_tokens = "required" }` on `aws_instance`, and no `0.0.0.0/0` ingress on 22/3389.
""",
      """
!(has(resource.computed.internet_exposed) && resource.computed.internet_exposed &&
  resource.computed.exposed_ports.exists(r, (r[0] <= 22 && r[1] >= 22) || (r[0] <= 3389 && r[1] >= 3389)) &&
  (!has(resource.config.metadataOptions.httpTokens) || resource.config.metadataOptions.httpTokens != "required"))
""",
      "The instance exposes SSH or RDP to the internet and still accepts IMDSv1 requests.",
      passes=[EXPOSED("ssh-imdsv2"), instance("https-only-imdsv1", imds="optional", related=[subnet(), sg([443])])],
      fails=[EXPOSED("ssh-imdsv1", imds="optional"), instance("all-ports-imdsv1", imds="optional", related=[subnet(), sg(["all"])])],
      refs=["https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/configuring-instance-metadata-service.html"])

write("aws-toxic-exposed-instance-escalation-role",
      "Internet-exposed instances do not carry a role that can escalate privileges", "high", ["aws.ec2.instance"],
      """
A role that can pass roles to new compute, or rewrite IAM policies, is an administrator in waiting. On an
instance reachable from the internet, whoever compromises the workload can use it to mint themselves
broader access.
""",
      """
Remove the escalation permissions (`iam:PassRole` together with `lambda:CreateFunction`/`ec2:RunInstances`,
`iam:CreatePolicyVersion`, `iam:Attach*Policy`, `iam:Put*Policy`, …) from the instance role, or scope
`iam:PassRole` to specific role ARNs with an `iam:PassedToService` condition.
""",
      """
!(has(resource.computed.internet_exposed) && resource.computed.internet_exposed &&
  related('uses').exists(r, r.type == "aws.iam.role" && r.computed.privilege_escalation))
""",
      "The instance is reachable from the internet and its role can escalate privileges.",
      passes=[EXPOSED("web-readonly", [role(READ_DOC)])],
      fails=[EXPOSED("web-passrole", [role(PASSROLE_DOC, "deployer")])],
      refs=["https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_passrole.html"])

def trail_in():
    return {"kind": "delivers_to", "incoming": True, "asset": {"name": "org-trail", "type": "aws.cloudtrail.trail", "config": {"name": "org-trail", "isMultiRegionTrail": True}}}

PAB_ALL = {"blockPublicAcls": True, "ignorePublicAcls": True, "blockPublicPolicy": True, "restrictPublicBuckets": True}
PAB_NONE = {"blockPublicAcls": False, "ignorePublicAcls": False, "blockPublicPolicy": False, "restrictPublicBuckets": False}
PUBLIC_POLICY = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*", "Action": ["s3:GetObject"], "Resource": ["arn:aws:s3:::b/*"]}]}

def bucket(name, pab, policy=None, enc=True, related=()):
    cfg = {"name": name, "publicAccessBlock": pab}
    if policy:
        cfg["policy"] = policy
    if enc:
        cfg["encryption"] = {"rules": [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms"}}]}
    return {"name": name, "config": cfg, "related": list(related)}

write("aws-toxic-public-bucket-with-audit-logs",
      "Buckets receiving CloudTrail logs are not public", "critical", ["aws.s3.bucket"],
      """
CloudTrail logs describe every API call in the account: who did what, from where, with which
credentials and resources. A public log bucket gives an outsider a map of the estate and lets them
watch the response to their own intrusion; public write access would even let them tamper with evidence.
""",
      """
Turn on all four S3 Block Public Access settings for the bucket (and the account) and remove statements
that allow `"Principal": "*"` without conditions.

- CLI: `aws s3api put-public-access-block --bucket BUCKET --public-access-block-configuration BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=true,RestrictPublicBuckets=true`
- Terraform: `aws_s3_bucket_public_access_block` with all four arguments `true`.
""",
      """
!(has(resource.computed.public) && resource.computed.public &&
  related('~delivers_to').exists(t, t.type == "aws.cloudtrail.trail"))
""",
      "CloudTrail delivers its logs to this bucket, and the bucket is public.",
      passes=[bucket("audit-logs-private", PAB_ALL, PUBLIC_POLICY, related=[trail_in()]), bucket("public-website", PAB_NONE, PUBLIC_POLICY)],
      fails=[bucket("audit-logs-public", PAB_NONE, PUBLIC_POLICY, related=[trail_in()])],
      frameworks=None, refs=["https://docs.aws.amazon.com/awscloudtrail/latest/userguide/create-s3-bucket-policy-for-cloudtrail.html"])

write("aws-toxic-public-bucket-unencrypted",
      "Public buckets are encrypted by default", "high", ["aws.s3.bucket"],
      """
A bucket that is public and also has no default encryption is usually one nobody has reviewed. Objects
written to it are stored unencrypted and readable by anyone, and nothing records a deliberate decision.
""",
      """
Decide whether the bucket must be public. If not, block public access; in every case set default
encryption (`aws s3api put-bucket-encryption --bucket BUCKET --server-side-encryption-configuration '{"Rules":[{"ApplyServerSideEncryptionByDefault":{"SSEAlgorithm":"aws:kms"}}]}'`).
""",
      """
!(has(resource.computed.public) && resource.computed.public &&
  (!has(resource.config.encryption) || size(resource.config.encryption.rules) == 0))
""",
      "The bucket is public and has no default encryption.",
      passes=[bucket("public-encrypted", PAB_NONE, PUBLIC_POLICY, enc=True), bucket("private-plain", PAB_ALL, None, enc=False)],
      fails=[bucket("public-plain", PAB_NONE, PUBLIC_POLICY, enc=False)],
      refs=["https://docs.aws.amazon.com/AmazonS3/latest/userguide/default-bucket-encryption.html"])

def rds(name, public=True, encrypted=True, backups=7, ports=(5432,)):
    return {"name": name, "config": {"dbInstanceIdentifier": name, "publiclyAccessible": public, "storageEncrypted": encrypted,
            "backupRetentionPeriod": backups, "endpoint": {"address": name + ".example", "port": 5432}},
            "related": [sg(list(ports), name="db-sg")]}

write("aws-toxic-exposed-database-unencrypted",
      "Databases reachable from the internet encrypt their storage", "critical", ["aws.rds.db_instance"],
      """
A database that is publicly accessible with its port open to the internet is one leaked password away
from a breach; unencrypted storage means its snapshots and disks expose the same data outside the
engine's access control as well.
""",
      """
Make the instance private (`aws rds modify-db-instance --db-instance-identifier DB --no-publicly-accessible --apply-immediately`),
close the port to `0.0.0.0/0`, and migrate to an encrypted instance (restore an encrypted copy of a
snapshot: `aws rds copy-db-snapshot --kms-key-id KEY …`, then restore from it).
""",
      """
!(has(resource.computed.internet_exposed) && resource.computed.internet_exposed &&
  resource.config.storageEncrypted != true)
""",
      "The database is reachable from the internet and its storage is not encrypted.",
      passes=[rds("orders-private", public=False, encrypted=False), rds("orders-public-encrypted", encrypted=True)],
      fails=[rds("orders-public-plain", encrypted=False)],
      refs=["https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/Overview.Encryption.html"])

write("aws-toxic-exposed-database-no-backups",
      "Databases reachable from the internet keep automated backups", "high", ["aws.rds.db_instance"],
      """
An internet-reachable database is the one most likely to be attacked, including by ransomware that
deletes or encrypts data. Without automated backups there is no point-in-time recovery when that happens.
""",
      """
Set a backup retention period of at least 7 days: `aws rds modify-db-instance --db-instance-identifier DB --backup-retention-period 7 --apply-immediately`
(Terraform: `backup_retention_period = 7`), and take the database off the internet.
""",
      """
!(has(resource.computed.internet_exposed) && resource.computed.internet_exposed &&
  (!has(resource.config.backupRetentionPeriod) || resource.config.backupRetentionPeriod == 0))
""",
      "The database is reachable from the internet and has no automated backups.",
      passes=[rds("public-with-backups", backups=7), rds("private-no-backups", public=False, backups=0)],
      fails=[rds("public-no-backups", backups=0)],
      refs=["https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_WorkingWithAutomatedBackups.html"])

def volume_in(encrypted):
    return {"kind": "attached_to", "incoming": True, "asset": {"name": "data-vol", "type": "aws.ec2.volume", "config": {"volumeId": "vol-1", "encrypted": encrypted}}}

write("aws-toxic-exposed-instance-unencrypted-volume",
      "Internet-exposed instances use encrypted volumes", "high", ["aws.ec2.instance"],
      """
An exposed instance is the likeliest to be compromised; if its volumes are unencrypted, snapshots of
them can be shared or copied out of the account without any key policy standing in the way.
""",
      """
Encrypt the volumes: snapshot, copy the snapshot with `--encrypted --kms-key-id KEY`, create a volume
from the copy and swap it in. Turn on EBS encryption by default for the region
(`aws ec2 enable-ebs-encryption-by-default`).
""",
      """
!(has(resource.computed.internet_exposed) && resource.computed.internet_exposed &&
  related('~attached_to').exists(v, v.type == "aws.ec2.volume" && v.config.encrypted != true))
""",
      "The instance is reachable from the internet and has an unencrypted volume attached.",
      passes=[EXPOSED("web-encrypted", [volume_in(True)]), instance("private-plain", public_ip=False, related=[subnet(public=False), sg([443]), volume_in(False)])],
      fails=[EXPOSED("web-plain", [volume_in(False)])],
      refs=["https://docs.aws.amazon.com/ebs/latest/userguide/ebs-encryption.html"])

def policy_out(doc, name):
    return {"kind": "attached_to", "asset": {"name": name, "type": "aws.iam.policy", "config": {"policyName": name, "document": doc}}}

def user(name, mfa, doc, keys=(), password=True):
    return {"name": name, "config": {"userName": name, "passwordEnabled": password, "mfaActive": mfa, "accessKeys": list(keys), "userPolicyList": []},
            "related": [policy_out(doc, name + "-policy")]}

write("aws-toxic-admin-user-without-mfa",
      "Users with administrator privileges sign in with MFA", "critical", ["aws.iam.user"],
      """
An administrator's console password is the single most valuable credential in an account. Without a
second factor, a phished or reused password is all an attacker needs to take over everything the
account holds.
""",
      """
Enable MFA for the user (IAM → Users → Security credentials → Assign MFA device), or remove the
administrator policy and use federated, MFA-enforced access instead. Enforce it with a policy that
denies actions when `aws:MultiFactorAuthPresent` is false.
""",
      """
!(has(resource.computed.admin) && resource.computed.admin &&
  resource.config.passwordEnabled == true && resource.config.mfaActive != true)
""",
      "The user has administrator privileges and a console password, but no MFA device.",
      passes=[user("admin-mfa", True, ADMIN_DOC), user("reader-no-mfa", False, READ_DOC)],
      fails=[user("admin-no-mfa", False, ADMIN_DOC)],
      refs=["https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_mfa_enable_virtual.html"])

OLD_KEY = {"accessKeyId": "AKIAOLD", "status": "Active", "createDate": "2025-09-01T00:00:00Z"}
NEW_KEY = {"accessKeyId": "AKIANEW", "status": "Active", "createDate": "2026-05-01T00:00:00Z"}
write("aws-toxic-admin-user-old-access-key",
      "Administrator users have no active access key older than 90 days", "high", ["aws.iam.user"],
      """
Long-lived access keys leak through laptops, CI logs and repositories. An old, active key on an
administrator is a permanent skeleton key: whoever finds it controls the account until someone notices.
""",
      """
Rotate the key (create a new one, switch the workload, deactivate and delete the old one:
`aws iam update-access-key --user-name USER --access-key-id OLD --status Inactive`), or better, move the
workload to a role with temporary credentials and drop the administrator policy from the user.
""",
      """
!(has(resource.computed.admin) && resource.computed.admin && has(resource.config.accessKeys) &&
  resource.config.accessKeys.exists(k, k.status == "Active" && now - timestamp(k.createDate) > duration("90d")))
""",
      "The user has administrator privileges and an active access key older than 90 days.",
      passes=[user("admin-fresh-key", True, ADMIN_DOC, keys=[NEW_KEY]), user("reader-old-key", True, READ_DOC, keys=[OLD_KEY])],
      fails=[user("admin-old-key", True, ADMIN_DOC, keys=[OLD_KEY])],
      refs=["https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_access-keys.html#rotating_access_keys_console"])

def sg_asset(name, ports, instances):
    return {"name": name, "config": {"groupId": "sg-" + name, "ipPermissions": sg(ports)["asset"]["config"]["ipPermissions"], "ipPermissionsEgress": []},
            "related": [{"kind": "uses", "incoming": True, "asset": {"name": n, "type": "aws.ec2.instance", "config": {"instanceId": "i-" + n, "state": {"name": s}}}} for n, s in instances]}

write("aws-toxic-open-admin-ports-on-running-instances",
      "Security groups that open SSH or RDP to the internet protect no running instance", "high", ["aws.ec2.security_group"],
      """
An over-permissive security group is a latent problem; attached to a running instance it is a live one.
Prioritise the groups whose open management ports actually lead to a machine that answers.
""",
      """
Remove the `0.0.0.0/0` / `::/0` rules on 22 and 3389 (`aws ec2 revoke-security-group-ingress …`) and
reach the instances through Session Manager or a VPN; or detach the group from running instances.
""",
      """
!(resource.config.ipPermissions.exists(p,
    (p.ipProtocol == "-1" || (has(p.fromPort) && ((p.fromPort <= 22 && p.toPort >= 22) || (p.fromPort <= 3389 && p.toPort >= 3389)))) &&
    (p.ipRanges.exists(r, r.cidrIp == "0.0.0.0/0") || p.ipv6Ranges.exists(r, r.cidrIpv6 == "::/0"))) &&
  resource.computed.attached_running_instances > 0)
""",
      "The group opens SSH or RDP to the internet and a running instance uses it.",
      passes=[sg_asset("ssh-open-unused", [22], [("old", "stopped")]), sg_asset("https-running", [443], [("web", "running")])],
      fails=[sg_asset("ssh-open-running", [22], [("web", "running")]), sg_asset("all-open-running", ["all"], [("app", "running")])],
      refs=["https://docs.aws.amazon.com/systems-manager/latest/userguide/session-manager.html"])
def sensitive_bucket_read(doc_resource):
    return role({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": [doc_resource]}]}, "reporting-role")

def payroll_bucket(tag):
    # A bucket elsewhere in the inventory (not related to the instance) that the role can read.
    return {"kind": "inventory_peer", "asset": {"name": "payroll", "type": "aws.s3.bucket", "tags": {"data-classification": tag}, "config": {"name": "payroll"}}}

write("aws-toxic-exposed-instance-reads-sensitive-data",
      "Internet-exposed instances cannot read buckets holding sensitive data", "critical", ["aws.ec2.instance"],
      """
Whoever compromises an instance that the internet can reach inherits its role. When that role can read
a bucket classified confidential, restricted or sensitive, one exploited web service becomes a data
breach: the attacker lists and downloads the objects with the instance's own credentials.
""",
      """
Split the workload: keep the internet-facing tier's role away from sensitive buckets and give the data
access to a private service behind it. At least scope the role's `s3:GetObject` to the prefixes it needs,
and add a bucket policy that denies reads from outside the expected VPC endpoint (`aws:SourceVpce`).
""",
      """
!(has(resource.computed.internet_exposed) && resource.computed.internet_exposed &&
  resource.computed.reads_sensitive_data)
""",
      "The instance is reachable from the internet and its role can read a bucket classified as sensitive.",
      passes=[EXPOSED("web-reads-public-data", [sensitive_bucket_read("arn:aws:s3:::public-site/*"), payroll_bucket("confidential")]),
              instance("batch-private-reads-payroll", public_ip=False, related=[subnet(public=False), sg([22]), sensitive_bucket_read("arn:aws:s3:::payroll/*"), payroll_bucket("confidential")])],
      fails=[EXPOSED("web-reads-payroll", [sensitive_bucket_read("arn:aws:s3:::payroll/*"), payroll_bucket("Restricted")])],
      refs=["https://docs.aws.amazon.com/AmazonS3/latest/userguide/security-best-practices.html"])
print("ok")
