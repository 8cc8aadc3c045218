//! Account-wide settings (`aws.account` parts) and the per-region `aws.account.region` assets.

use serde_json::{Value, json};

use crate::{Ctx, Scan};

/// The global "account" unit: alias, AWSSupportAccess entities, account-level S3 Block Public
/// Access. The `aws.account` asset itself is built at the end of the scan (logging.rs).
pub async fn collect(ctx: &Ctx<'_>) {
    let iam_ctx = Ctx::new(ctx.scan, "iam", "global");
    let s3_ctx = Ctx::new(ctx.scan, "s3", "global");
    let (alias, support, pab) = futures_util::join!(
        crate::iam::account_alias(&iam_ctx),
        crate::iam::support_policy_entities(&iam_ctx),
        crate::s3::account_public_access_block(&s3_ctx),
    );
    if let Some(a) = alias {
        ctx.scan.set_part("account", "alias", json!(a));
    }
    ctx.scan
        .set_part("account", "supportPolicyEntities", support);
    ctx.scan.set_part("account", "s3PublicAccessBlock", pab);
}

/// One `aws.account.region` per scanned region, from the parts the regional collectors left.
pub fn region_assets(
    scan: &Scan,
    regions: &[String],
    opt_in: &std::collections::HashMap<String, String>,
) {
    for r in regions {
        let mut config = scan.take_parts(r);
        config.insert("regionName".into(), json!(r));
        if let Some(o) = opt_in.get(r) {
            config.insert("optInStatus".into(), json!(o));
        }
        let ctx = Ctx::new(scan, "ec2", r);
        let native = format!("{}/{r}", scan.account);
        ctx.asset(
            "aws.account.region",
            &native,
            r,
            Vec::new(),
            Value::Object(config),
        );
    }
}
