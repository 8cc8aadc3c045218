# Generates the CAI fixture files (kept for reference; the .jsonl/.json files are committed).
import json
P, N = "acme-prod", "123456789012"
ANC = [f"projects/{N}", "folders/555000111", "organizations/987654321"]
PARENT = f"//cloudresourcemanager.googleapis.com/projects/{N}"
C = "https://www.googleapis.com/compute/v1/projects/acme-prod"
T = "2026-11-01T08:00:00.000Z"
def res(name, atype, disc, data, loc="global", parent=PARENT, anc=ANC, version="v1"):
    uri = {"compute": "https://www.googleapis.com/discovery/v1/apis/compute/v1/rest"}.get(disc.split("/")[0], f"https://{atype.split('/')[0]}/$discovery/rest")
    return {"name": name, "asset_type": atype, "resource": {"version": version, "discovery_document_uri": uri,
            "discovery_name": atype.split("/")[1], "parent": parent, "data": data, "location": loc},
            "ancestors": anc, "update_time": T}
def iam(name, atype, bindings, anc=ANC, **extra):
    pol = {"version": 1, "bindings": bindings, "etag": "BwXhqZ1d2sA="}
    pol.update(extra)
    return {"name": name, "asset_type": atype, "iam_policy": pol, "ancestors": anc, "update_time": T}
L = []
proj = f"//cloudresourcemanager.googleapis.com/projects/{N}"
L.append(res(proj, "cloudresourcemanager.googleapis.com/Project", "Project",
    {"projectNumber": N, "projectId": P, "lifecycleState": "ACTIVE", "name": "Acme Production",
     "labels": {"env": "prod"}, "createTime": "2024-02-01T10:00:00.000Z",
     "parent": {"type": "folder", "id": "555000111"}}, parent="//cloudresourcemanager.googleapis.com/folders/555000111"))
L.append(iam(proj, "cloudresourcemanager.googleapis.com/Project", [
    {"role": "roles/owner", "members": ["user:alice@acme.example", "serviceAccount:ci-deployer@acme-prod.iam.gserviceaccount.com"]},
    {"role": "roles/iam.serviceAccountUser", "members": ["user:bob@gmail.com"]},
    {"role": "roles/viewer", "members": ["group:auditors@acme.example"]}],
    audit_configs=[{"service": "allServices", "audit_log_configs": [{"log_type": 1}, {"log_type": 2}]}]))
L.append(res(f"//compute.googleapis.com/projects/{P}", "compute.googleapis.com/Project", "Project",
    {"id": "7001", "name": P, "kind": "compute#project", "commonInstanceMetadata": {"items": [
        {"key": "enable-oslogin", "value": "TRUE"}]}, "defaultServiceAccount": f"{N}-compute@developer.gserviceaccount.com"}))
L.append(res(f"//compute.googleapis.com/projects/{P}/global/networks/default", "compute.googleapis.com/Network", "Network",
    {"id": "8001", "name": "default", "autoCreateSubnetworks": True, "selfLink": f"{C}/global/networks/default",
     "routingConfig": {"routingMode": "REGIONAL"}, "subnetworks": [f"{C}/regions/europe-west1/subnetworks/default"]}))
L.append(res(f"//compute.googleapis.com/projects/{P}/global/networks/prod-vpc", "compute.googleapis.com/Network", "Network",
    {"id": "8002", "name": "prod-vpc", "autoCreateSubnetworks": False, "selfLink": f"{C}/global/networks/prod-vpc",
     "routingConfig": {"routingMode": "GLOBAL"}}))
L.append(res(f"//compute.googleapis.com/projects/{P}/regions/europe-west1/subnetworks/default", "compute.googleapis.com/Subnetwork", "Subnetwork",
    {"id": "8101", "name": "default", "network": f"{C}/global/networks/default", "ipCidrRange": "10.132.0.0/20",
     "region": f"{C}/regions/europe-west1", "privateIpGoogleAccess": False, "purpose": "PRIVATE",
     "selfLink": f"{C}/regions/europe-west1/subnetworks/default"}, loc="europe-west1"))
L.append(res(f"//compute.googleapis.com/projects/{P}/regions/europe-west1/subnetworks/prod-app", "compute.googleapis.com/Subnetwork", "Subnetwork",
    {"id": "8102", "name": "prod-app", "network": f"{C}/global/networks/prod-vpc", "ipCidrRange": "10.10.0.0/24",
     "region": f"{C}/regions/europe-west1", "privateIpGoogleAccess": True, "purpose": "PRIVATE", "enableFlowLogs": True,
     "logConfig": {"enable": True, "aggregationInterval": "INTERVAL_5_SEC", "flowSampling": 1, "metadata": "INCLUDE_ALL_METADATA"},
     "selfLink": f"{C}/regions/europe-west1/subnetworks/prod-app"}, loc="europe-west1"))
L.append(res(f"//compute.googleapis.com/projects/{P}/global/firewalls/default-allow-ssh", "compute.googleapis.com/Firewall", "Firewall",
    {"id": "8201", "name": "default-allow-ssh", "network": f"{C}/global/networks/default", "direction": "INGRESS", "priority": 65534,
     "sourceRanges": ["0.0.0.0/0"], "allowed": [{"IPProtocol": "tcp", "ports": ["22"]}], "disabled": False,
     "logConfig": {"enable": False}, "selfLink": f"{C}/global/firewalls/default-allow-ssh"}))
L.append(res(f"//compute.googleapis.com/projects/{P}/global/firewalls/prod-allow-iap-ssh", "compute.googleapis.com/Firewall", "Firewall",
    {"id": "8202", "name": "prod-allow-iap-ssh", "network": f"{C}/global/networks/prod-vpc", "direction": "INGRESS", "priority": 1000,
     "sourceRanges": ["35.235.240.0/20"], "allowed": [{"IPProtocol": "tcp", "ports": ["22", "3389"]}], "disabled": False,
     "logConfig": {"enable": True, "metadata": "INCLUDE_ALL_METADATA"}, "selfLink": f"{C}/global/firewalls/prod-allow-iap-ssh"}))
sa_email = f"app-runtime@{P}.iam.gserviceaccount.com"
L.append(res(f"//compute.googleapis.com/projects/{P}/zones/europe-west1-b/instances/web-1", "compute.googleapis.com/Instance", "Instance",
    {"id": "9001", "name": "web-1", "machineType": f"{C}/zones/europe-west1-b/machineTypes/e2-medium", "status": "RUNNING",
     "zone": f"{C}/zones/europe-west1-b", "canIpForward": True,
     "networkInterfaces": [{"name": "nic0", "network": f"{C}/global/networks/default", "subnetwork": f"{C}/regions/europe-west1/subnetworks/default",
        "networkIP": "10.132.0.2", "accessConfigs": [{"name": "External NAT", "type": "ONE_TO_ONE_NAT", "natIP": "34.76.1.2", "networkTier": "PREMIUM"}]}],
     "disks": [{"boot": True, "autoDelete": True, "deviceName": "web-1", "mode": "READ_WRITE", "type": "PERSISTENT",
        "source": f"{C}/zones/europe-west1-b/disks/web-1"}],
     "metadata": {"items": [{"key": "serial-port-enable", "value": "true"}]},
     "serviceAccounts": [{"email": f"{N}-compute@developer.gserviceaccount.com", "scopes": ["https://www.googleapis.com/auth/cloud-platform"]}],
     "shieldedInstanceConfig": {"enableSecureBoot": False, "enableVtpm": False, "enableIntegrityMonitoring": False},
     "labels": {"team": "web"}}, loc="europe-west1-b"))
L.append(res(f"//compute.googleapis.com/projects/{P}/zones/europe-west1-b/instances/app-1", "compute.googleapis.com/Instance", "Instance",
    {"id": "9002", "name": "app-1", "machineType": f"{C}/zones/europe-west1-b/machineTypes/n2d-standard-2", "status": "RUNNING",
     "zone": f"{C}/zones/europe-west1-b", "canIpForward": False,
     "networkInterfaces": [{"name": "nic0", "network": f"{C}/global/networks/prod-vpc", "subnetwork": f"{C}/regions/europe-west1/subnetworks/prod-app", "networkIP": "10.10.0.5"}],
     "disks": [{"boot": True, "source": f"{C}/zones/europe-west1-b/disks/app-1", "diskEncryptionKey": {"sha256": "8Xz0c2w1Q3Q5V6Yk0mG1wYc5bH4m2x1c9Q0j3kZr0pQ="}}],
     "metadata": {"items": [{"key": "block-project-ssh-keys", "value": "true"}]},
     "serviceAccounts": [{"email": sa_email, "scopes": ["https://www.googleapis.com/auth/logging.write"]}],
     "shieldedInstanceConfig": {"enableSecureBoot": True, "enableVtpm": True, "enableIntegrityMonitoring": True},
     "confidentialInstanceConfig": {"enableConfidentialCompute": True}}, loc="europe-west1-b"))
L.append(res(f"//compute.googleapis.com/projects/{P}/zones/europe-west1-b/disks/app-1", "compute.googleapis.com/Disk", "Disk",
    {"id": "9101", "name": "app-1", "sizeGb": "20", "status": "READY", "type": f"{C}/zones/europe-west1-b/diskTypes/pd-balanced",
     "diskEncryptionKey": {"sha256": "8Xz0c2w1Q3Q5V6Yk0mG1wYc5bH4m2x1c9Q0j3kZr0pQ="}, "users": [f"{C}/zones/europe-west1-b/instances/app-1"]}, loc="europe-west1-b"))
sa = f"//iam.googleapis.com/projects/{P}/serviceAccounts/104857600000000000001"
L.append(res(sa, "iam.googleapis.com/ServiceAccount", "ServiceAccount",
    {"name": f"projects/{P}/serviceAccounts/{sa_email}", "projectId": P, "uniqueId": "104857600000000000001", "email": sa_email,
     "displayName": "App runtime", "oauth2ClientId": "104857600000000000001"}))
L.append(res(f"{sa}/keys/3f2a9c", "iam.googleapis.com/ServiceAccountKey", "ServiceAccountKey",
    {"name": f"projects/{P}/serviceAccounts/{sa_email}/keys/3f2a9c", "validAfterTime": "2025-01-10T00:00:00Z",
     "validBeforeTime": "9999-12-31T23:59:59Z", "keyAlgorithm": "KEY_ALG_RSA_2048", "keyOrigin": "GOOGLE_PROVIDED", "keyType": "USER_MANAGED"}, parent=sa))
kr = f"//cloudkms.googleapis.com/projects/{P}/locations/europe-west1/keyRings/prod"
L.append(res(kr, "cloudkms.googleapis.com/KeyRing", "KeyRing", {"name": f"projects/{P}/locations/europe-west1/keyRings/prod", "createTime": "2024-03-01T00:00:00Z"}, loc="europe-west1"))
L.append(res(f"{kr}/cryptoKeys/data", "cloudkms.googleapis.com/CryptoKey", "CryptoKey",
    {"name": f"projects/{P}/locations/europe-west1/keyRings/prod/cryptoKeys/data", "purpose": "ENCRYPT_DECRYPT",
     "rotationPeriod": "31536000s", "nextRotationTime": "2027-03-01T00:00:00Z", "primary": {"state": "ENABLED", "algorithm": "GOOGLE_SYMMETRIC_ENCRYPTION"},
     "versionTemplate": {"algorithm": "GOOGLE_SYMMETRIC_ENCRYPTION", "protectionLevel": "SOFTWARE"}}, parent=kr, loc="europe-west1"))
b = "//storage.googleapis.com/acme-prod-public-assets"
L.append(res(b, "storage.googleapis.com/Bucket", "Bucket",
    {"id": "acme-prod-public-assets", "name": "acme-prod-public-assets", "location": "EU", "storageClass": "STANDARD",
     "iamConfiguration": {"uniformBucketLevelAccess": {"enabled": False}, "publicAccessPrevention": "inherited"},
     "versioning": {"enabled": False}, "projectNumber": N}, loc="eu"))
L.append(iam(b, "storage.googleapis.com/Bucket", [
    {"role": "roles/storage.objectViewer", "members": ["allUsers"]},
    {"role": "roles/storage.legacyBucketOwner", "members": ["projectOwner:acme-prod"]}]))
lb = "//storage.googleapis.com/acme-prod-audit-logs"
L.append(res(lb, "storage.googleapis.com/Bucket", "Bucket",
    {"id": "acme-prod-audit-logs", "name": "acme-prod-audit-logs", "location": "EU", "storageClass": "STANDARD",
     "iamConfiguration": {"uniformBucketLevelAccess": {"enabled": True}, "publicAccessPrevention": "enforced"},
     "retentionPolicy": {"retentionPeriod": "31536000", "isLocked": True, "effectiveTime": "2024-03-01T00:00:00Z"},
     "versioning": {"enabled": True}, "logging": {"logBucket": "acme-prod-access-logs"}, "projectNumber": N}, loc="eu"))
L.append(iam(lb, "storage.googleapis.com/Bucket", [
    {"role": "roles/storage.legacyBucketOwner", "members": ["projectOwner:acme-prod"]}]))
L.append(res(f"//logging.googleapis.com/projects/{N}/sinks/all-to-gcs", "logging.googleapis.com/LogSink", "LogSink",
    {"name": "all-to-gcs", "destination": "storage.googleapis.com/acme-prod-audit-logs", "writerIdentity": "serviceAccount:p123456789012-1@gcp-sa-logging.iam.gserviceaccount.com"}))
L.append(res(f"//logging.googleapis.com/projects/{P}/metrics/owner-changes", "logging.googleapis.com/LogMetric", "LogMetric",
    {"name": "owner-changes", "filter": "(protoPayload.serviceName=\"cloudresourcemanager.googleapis.com\") AND (ProjectOwnership OR projectOwnerInvitee) OR (protoPayload.serviceData.policyDelta.bindingDeltas.action=\"REMOVE\" AND protoPayload.serviceData.policyDelta.bindingDeltas.role=\"roles/owner\") OR (protoPayload.serviceData.policyDelta.bindingDeltas.action=\"ADD\" AND protoPayload.serviceData.policyDelta.bindingDeltas.role=\"roles/owner\")",
     "metricDescriptor": {"metricKind": "DELTA", "valueType": "INT64"}}))
L.append(res(f"//monitoring.googleapis.com/projects/{N}/alertPolicies/1122", "monitoring.googleapis.com/AlertPolicy", "AlertPolicy",
    {"name": f"projects/{P}/alertPolicies/1122", "displayName": "Project ownership changed", "enabled": True, "combiner": "OR",
     "conditions": [{"displayName": "owner-changes > 0", "conditionThreshold": {"filter": "metric.type=\"logging.googleapis.com/user/owner-changes\" AND resource.type=\"global\"",
        "comparison": "COMPARISON_GT", "thresholdValue": 0, "duration": "0s"}}],
     "notificationChannels": [f"projects/{P}/notificationChannels/77"]}))
L.append(res(f"//dns.googleapis.com/projects/{P}/managedZones/acme-example", "dns.googleapis.com/ManagedZone", "ManagedZone",
    {"name": "acme-example", "dnsName": "acme.example.", "visibility": "public", "id": "4455",
     "dnssecConfig": {"state": "on", "nonExistence": "nsec3", "defaultKeySpecs": [
        {"keyType": "keySigning", "algorithm": "rsasha1", "keyLength": 2048}, {"keyType": "zoneSigning", "algorithm": "rsasha256", "keyLength": 1024}]}}))
L.append(res(f"//dns.googleapis.com/projects/{P}/policies/prod-logging", "dns.googleapis.com/Policy", "Policy",
    {"name": "prod-logging", "id": "5566", "enableLogging": True, "enableInboundForwarding": False,
     "networks": [{"networkUrl": f"{C}/global/networks/prod-vpc"}]}))
L.append(res(f"//cloudsql.googleapis.com/projects/{P}/instances/orders-db", "sqladmin.googleapis.com/Instance", "DatabaseInstance",
    {"name": "orders-db", "project": P, "databaseVersion": "POSTGRES_15", "region": "europe-west1", "state": "RUNNABLE", "instanceType": "CLOUD_SQL_INSTANCE",
     "settings": {"tier": "db-custom-2-7680", "availabilityType": "REGIONAL",
        "ipConfiguration": {"ipv4Enabled": True, "requireSsl": False, "privateNetwork": f"projects/{P}/global/networks/prod-vpc",
            "authorizedNetworks": [{"name": "anywhere", "value": "0.0.0.0/0"}]},
        "backupConfiguration": {"enabled": True, "startTime": "02:00", "pointInTimeRecoveryEnabled": True},
        "databaseFlags": [{"name": "log_connections", "value": "on"}, {"name": "log_disconnections", "value": "off"}]},
     "ipAddresses": [{"type": "PRIMARY", "ipAddress": "35.205.10.20"}, {"type": "PRIVATE", "ipAddress": "10.20.0.3"}]}, loc="europe-west1"))
L.append(res(f"//bigquery.googleapis.com/projects/{P}/datasets/analytics", "bigquery.googleapis.com/Dataset", "Dataset",
    {"datasetReference": {"datasetId": "analytics", "projectId": P}, "id": f"{P}:analytics", "location": "EU",
     "access": [{"role": "OWNER", "specialGroup": "projectOwners"}, {"role": "READER", "specialGroup": "allAuthenticatedUsers"}]}, loc="eu"))
L.append(res(f"//container.googleapis.com/projects/{P}/locations/europe-west1/clusters/prod-gke", "container.googleapis.com/Cluster", "Cluster",
    {"name": "prod-gke", "location": "europe-west1", "network": "prod-vpc", "subnetwork": "prod-app",
     "networkConfig": {"network": f"projects/{P}/global/networks/prod-vpc", "subnetwork": f"projects/{P}/regions/europe-west1/subnetworks/prod-app"},
     "loggingService": "logging.googleapis.com/kubernetes", "monitoringService": "monitoring.googleapis.com/kubernetes",
     "legacyAbac": {}, "masterAuthorizedNetworksConfig": {"enabled": True, "cidrBlocks": [{"cidrBlock": "10.0.0.0/8"}]},
     "privateClusterConfig": {"enablePrivateNodes": True, "enablePrivateEndpoint": False},
     "ipAllocationPolicy": {"useIpAliases": True}, "networkPolicy": {"enabled": True, "provider": "CALICO"},
     "nodeConfig": {"serviceAccount": sa_email, "imageType": "COS_CONTAINERD", "oauthScopes": ["https://www.googleapis.com/auth/logging.write"]},
     "nodePools": [{"name": "default-pool", "config": {"serviceAccount": sa_email, "imageType": "COS_CONTAINERD"},
        "management": {"autoRepair": True, "autoUpgrade": True}}],
     "resourceLabels": {"env": "prod"}}, loc="europe-west1"))
for svc in ["compute.googleapis.com", "cloudasset.googleapis.com"]:
    L.append(res(f"//serviceusage.googleapis.com/projects/{N}/services/{svc}", "serviceusage.googleapis.com/Service", "Service",
        {"name": f"projects/{N}/services/{svc}", "parent": f"projects/{N}", "state": "ENABLED", "config": {"name": svc}}))
L.append(res(f"//widgets.googleapis.com/projects/{P}/locations/global/gadgets/g1", "widgets.googleapis.com/Gadget", "Gadget",
    {"name": f"projects/{P}/locations/global/gadgets/g1", "colour": "blue"}))
with open("export.jsonl", "w") as f:
    for l in L:
        f.write(json.dumps(l, separators=(",", ":")) + "\n")

# The camelCase listing of a few of the same assets.
def camel(o):
    if isinstance(o, dict):
        out = {}
        for k, v in o.items():
            if k in ("data",):
                out[k] = v
                continue
            parts = k.split("_")
            out[parts[0] + "".join(p.title() for p in parts[1:])] = camel(v)
        return out
    if isinstance(o, list):
        return [camel(x) for x in o]
    return o
listing = [camel(L[0]), camel(L[1]), camel(L[9]), camel(L[16]), camel(L[17])]
listing[1]["iamPolicy"]["auditConfigs"][0]["auditLogConfigs"] = [{"logType": "ADMIN_READ"}, {"logType": "DATA_WRITE"}, {"logType": "DATA_READ"}]
with open("list.json", "w") as f:
    json.dump(listing, f, indent=2)
    f.write("\n")
with open("malformed.jsonl", "w") as f:
    f.write(json.dumps(L[0], separators=(",", ":")) + "\n")
    f.write(json.dumps(L[3], separators=(",", ":")) + "\n")
    f.write(json.dumps(L[4], separators=(",", ":"))[:120] + "\n")
with open("no-type.jsonl", "w") as f:
    f.write(json.dumps(L[0], separators=(",", ":")) + "\n")
    bad = dict(L[3]); del bad["asset_type"]
    f.write(json.dumps(bad, separators=(",", ":")) + "\n")
