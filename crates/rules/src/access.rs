//! Effective AWS permissions, as far as the inventory shows them: identity policies (a
//! principal's own, attached and its groups'), explicit denies, permission boundaries and the
//! service control policies that apply to the principal's account.
//!
//! An action is permitted when an identity policy allows it, no identity policy denies it, the
//! permission boundary (if any) allows it and does not deny it, and — when SCPs apply to the
//! account — at least one SCP allows it and none denies it. Statements with `NotAction` or
//! `NotResource` are not modelled; conditions on `Allow` statements are taken as met and
//! conditional `Deny` statements as not applying, so the result errs towards more access, never
//! less. Patterns match with `*` and `?`, case-insensitively.

use std::collections::BTreeSet;

use serde_json::Value as Json;

use crate::state::Grant;

/// Allow and deny grants of one policy document (or of several taken together).
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Rules {
    pub allow: Box<[Grant]>,
    /// Unconditional denies only.
    pub deny: Box<[Grant]>,
}

/// Appends a document's allow and (unconditional) deny grants, lower-cased.
pub(crate) fn document(doc: &Json, allow: &mut Vec<Grant>, deny: &mut Vec<Grant>) {
    let Some(stmts) = doc.get("Statement") else {
        return;
    };
    let stmts: Vec<&Json> = match stmts {
        Json::Array(a) => a.iter().collect(),
        other => vec![other],
    };
    for s in stmts {
        let effect = s.get("Effect").and_then(Json::as_str);
        let conditional = s
            .get("Condition")
            .is_some_and(|c| c.as_object().is_none_or(|m| !m.is_empty()));
        let out = match effect {
            Some("Allow") => &mut *allow,
            Some("Deny") if !conditional => &mut *deny,
            _ => continue,
        };
        let list = |key: &str| -> Vec<String> {
            match s.get(key) {
                Some(Json::String(x)) => vec![x.to_ascii_lowercase()],
                Some(Json::Array(xs)) => xs
                    .iter()
                    .filter_map(Json::as_str)
                    .map(str::to_ascii_lowercase)
                    .collect(),
                _ => Vec::new(),
            }
        };
        let resources = list("Resource");
        for action in list("Action") {
            let action: Box<str> = if action == "*:*" {
                "*".into()
            } else {
                action.into()
            };
            for r in &resources {
                out.push((action.clone(), r.as_str().into()));
            }
        }
    }
}

/// Wildcard match: `*` any run, `?` one character.
pub(crate) fn glob(pattern: &str, text: &str) -> bool {
    let (p, t) = (pattern.as_bytes(), text.as_bytes());
    let (mut pi, mut ti) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == b'?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == b'*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

/// A set of buckets: every bucket except `set`, or exactly `set`.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Buckets {
    pub all: bool,
    pub set: BTreeSet<Box<str>>,
}

impl Buckets {
    pub fn everything() -> Buckets {
        Buckets {
            all: true,
            set: BTreeSet::new(),
        }
    }

    pub fn contains(&self, name: &str) -> bool {
        self.all != self.set.contains(name)
    }

    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        !self.all && self.set.is_empty()
    }

    pub fn union(&self, other: &Buckets) -> Buckets {
        match (self.all, other.all) {
            (true, true) => Buckets {
                all: true,
                set: self.set.intersection(&other.set).cloned().collect(),
            },
            (true, false) => Buckets {
                all: true,
                set: self.set.difference(&other.set).cloned().collect(),
            },
            (false, true) => other.union(self),
            (false, false) => Buckets {
                all: false,
                set: self.set.union(&other.set).cloned().collect(),
            },
        }
    }

    pub fn intersect(&self, other: &Buckets) -> Buckets {
        match (self.all, other.all) {
            (true, true) => Buckets {
                all: true,
                set: self.set.union(&other.set).cloned().collect(),
            },
            (true, false) => Buckets {
                all: false,
                set: other.set.difference(&self.set).cloned().collect(),
            },
            (false, true) => other.intersect(self),
            (false, false) => Buckets {
                all: false,
                set: self.set.intersection(&other.set).cloned().collect(),
            },
        }
    }

    pub fn minus(&self, other: &Buckets) -> Buckets {
        let complement = Buckets {
            all: !other.all,
            set: other.set.clone(),
        };
        self.intersect(&complement)
    }
}

fn s3_getobject(action: &str) -> bool {
    glob(action, "s3:getobject")
}

/// The buckets whose objects `grants` cover with `s3:GetObject`.
pub(crate) fn buckets_of(grants: &[Grant]) -> Buckets {
    let mut out = Buckets::default();
    for (action, resource) in grants {
        if !s3_getobject(action) {
            continue;
        }
        let resource = &**resource;
        if resource == "*" || resource == "arn:aws:s3:::*" || resource == "arn:aws:s3:::*/*" {
            return Buckets::everything();
        }
        if let Some(rest) = resource.strip_prefix("arn:aws:s3:::") {
            let name = rest.split('/').next().unwrap_or_default();
            if !name.is_empty() && !name.contains('*') && !name.contains('?') {
                out.set.insert(name.into());
            }
        }
    }
    out
}

impl Rules {
    pub fn from_parts(allow: Vec<Grant>, deny: Vec<Grant>) -> Rules {
        Rules {
            allow: allow.into(),
            deny: deny.into(),
        }
    }

    /// Whether an allow covers `action` on a resource accepted by `resource_ok`.
    pub fn allows(&self, action: &str, resource_ok: &dyn Fn(&str) -> bool) -> bool {
        self.allow
            .iter()
            .any(|(a, r)| glob(a, action) && resource_ok(r))
    }

    /// Whether a deny covers `action` on every resource.
    pub fn denies(&self, action: &str) -> bool {
        self.deny
            .iter()
            .any(|(a, r)| &**r == "*" && glob(a, action))
    }

    /// Buckets allowed for `s3:GetObject` less those denied.
    pub fn readable(&self) -> Buckets {
        buckets_of(&self.allow).minus(&self.blocked())
    }

    /// Buckets where `s3:GetObject` is denied.
    pub fn blocked(&self) -> Buckets {
        buckets_of(&self.deny)
    }
}

/// The policies that bound one principal.
pub(crate) struct Principal<'a> {
    pub identity: Rules,
    /// Its permission boundary (AWS allows one; several are all applied).
    pub boundary: Vec<Rules>,
    /// The SCPs applying to its account (none: no organisation restriction known).
    pub scps: Vec<&'a Rules>,
}

fn any_resource(_: &str) -> bool {
    true
}

impl Principal<'_> {
    /// Whether `action` is permitted on a resource `resource_ok` accepts.
    pub fn permits(&self, action: &str, resource_ok: &dyn Fn(&str) -> bool) -> bool {
        self.identity.allows(action, resource_ok)
            && !self.identity.denies(action)
            && self
                .boundary
                .iter()
                .all(|b| b.allows(action, &any_resource) && !b.denies(action))
            && self.scps_permit(action)
    }

    fn scps_permit(&self, action: &str) -> bool {
        self.scps.is_empty()
            || (self.scps.iter().any(|s| s.allows(action, &any_resource))
                && !self.scps.iter().any(|s| s.denies(action)))
    }

    /// Full administrator: allowed `*` on `*`, and no layer takes away IAM, compute or data.
    pub fn admin(&self) -> bool {
        self.identity
            .allow
            .iter()
            .any(|(a, r)| &**a == "*" && &**r == "*")
            && [
                "iam:createuser",
                "iam:putrolepolicy",
                "iam:attachrolepolicy",
                "ec2:runinstances",
                "s3:getobject",
            ]
            .iter()
            .all(|a| self.permits(a, &|r| r == "*"))
    }

    /// Buckets readable through identity policies (within the boundary and the SCPs).
    pub fn readable(&self) -> Buckets {
        let mut r = self.identity.readable();
        for b in &self.boundary {
            r = r.intersect(&b.readable());
        }
        r.minus(&self.scp_blocked())
    }

    /// Buckets where reading is blocked whatever grants it: identity denies and the SCPs
    /// (resource policies' grants still pass through a permission boundary here).
    pub fn blocked(&self) -> Buckets {
        self.identity.blocked().union(&self.scp_blocked())
    }

    fn scp_blocked(&self) -> Buckets {
        if self.scps.is_empty() {
            return Buckets::default();
        }
        let allowed = self.scps.iter().fold(Buckets::default(), |acc, s| {
            acc.union(&buckets_of(&s.allow))
        });
        let denied = self
            .scps
            .iter()
            .fold(Buckets::default(), |acc, s| acc.union(&s.blocked()));
        Buckets::everything().minus(&allowed).union(&denied)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use serde_json::json;

    fn rules(doc: Json) -> Rules {
        let (mut a, mut d) = (Vec::new(), Vec::new());
        document(&doc, &mut a, &mut d);
        Rules::from_parts(a, d)
    }

    fn names(b: &Buckets) -> (bool, Vec<&str>) {
        (b.all, b.set.iter().map(|s| &**s).collect())
    }

    #[test]
    fn glob_matches_wildcards() {
        assert!(glob("s3:get*", "s3:getobject"));
        assert!(glob("*", "anything"));
        assert!(glob("s3:?etobject", "s3:getobject"));
        assert!(glob("arn:aws:s3:::b/*", "arn:aws:s3:::b/key"));
        assert!(!glob("s3:put*", "s3:getobject"));
        assert!(!glob("iam:*", "s3:getobject"));
        assert!(glob("*object", "s3:getobject"));
        assert!(!glob("a*b*c", "abx"));
    }

    #[test]
    fn bucket_set_algebra() {
        let all_but = |n: &[&str]| Buckets {
            all: true,
            set: n.iter().map(|s| (*s).into()).collect(),
        };
        let only = |n: &[&str]| Buckets {
            all: false,
            set: n.iter().map(|s| (*s).into()).collect(),
        };
        assert_eq!(
            names(&all_but(&["a"]).intersect(&only(&["a", "b"]))),
            (false, vec!["b"])
        );
        assert_eq!(names(&all_but(&["a"]).union(&only(&["a"]))), (true, vec![]));
        assert_eq!(
            names(&only(&["a", "b"]).minus(&only(&["b"]))),
            (false, vec!["a"])
        );
        assert_eq!(
            names(&Buckets::everything().minus(&only(&["x"]))),
            (true, vec!["x"])
        );
        assert!(only(&["a"]).minus(&Buckets::everything()).is_empty());
        assert!(all_but(&["a"]).contains("b") && !all_but(&["a"]).contains("a"));
    }

    fn principal(identity: Json, boundary: Option<Json>, scps: &[Json]) -> (bool, Buckets) {
        let scps: Vec<Rules> = scps.iter().cloned().map(rules).collect();
        let p = Principal {
            identity: rules(identity),
            boundary: boundary.map(rules).into_iter().collect(),
            scps: scps.iter().collect(),
        };
        (p.admin(), p.readable())
    }

    #[test]
    fn denies_boundaries_and_scps_narrow_what_identity_policies_allow() {
        let admin = json!({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]});
        assert!(principal(admin.clone(), None, &[]).0);
        // An explicit deny on IAM takes administration away; a deny on one bucket only that
        // bucket.
        let mut denied = admin.clone();
        denied["Statement"]
            .as_array_mut()
            .unwrap()
            .push(json!({"Effect": "Deny", "Action": "iam:*", "Resource": "*"}));
        assert!(!principal(denied, None, &[]).0);
        let mut one = admin.clone();
        one["Statement"].as_array_mut().unwrap().push(
            json!({"Effect": "Deny", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::payroll/*"}),
        );
        let (is_admin, reach) = principal(one, None, &[]);
        assert!(is_admin && !reach.contains("payroll") && reach.contains("logs"));
        // A conditional deny is not taken as applying.
        let mut conditional = admin.clone();
        conditional["Statement"]
            .as_array_mut()
            .unwrap()
            .push(json!({"Effect": "Deny", "Action": "*",
            "Resource": "*", "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "false"}}}));
        assert!(principal(conditional, None, &[]).0);
        // A boundary allowing only reads of one bucket.
        let boundary = json!({"Statement": [{"Effect": "Allow", "Action": "s3:GetObject",
            "Resource": "arn:aws:s3:::logs/*"}]});
        let (is_admin, reach) = principal(admin.clone(), Some(boundary), &[]);
        assert!(!is_admin);
        assert_eq!(names(&reach), (false, vec!["logs"]));
        // SCPs: FullAWSAccess changes nothing; an SCP denying S3 takes every bucket away;
        // an SCP allowing only EC2 leaves no S3 and no administration.
        let full = json!({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]});
        let no_s3 = json!({"Statement": [{"Effect": "Deny", "Action": "s3:*", "Resource": "*"}]});
        let ec2 = json!({"Statement": [{"Effect": "Allow", "Action": "ec2:*", "Resource": "*"}]});
        assert!(principal(admin.clone(), None, std::slice::from_ref(&full)).0);
        let (is_admin, reach) = principal(admin.clone(), None, &[full, no_s3]);
        assert!(!is_admin && reach.is_empty());
        let (is_admin, reach) = principal(admin, None, &[ec2]);
        assert!(!is_admin && reach.is_empty());
    }

    #[test]
    fn adding_a_deny_never_widens_access() {
        let allow = json!({"Effect": "Allow", "Action": ["s3:Get*", "iam:*"], "Resource": "*"});
        let denies = [
            json!({"Effect": "Deny", "Action": "s3:*", "Resource": "arn:aws:s3:::a/*"}),
            json!({"Effect": "Deny", "Action": "iam:PassRole", "Resource": "*"}),
            json!({"Effect": "Deny", "Action": "*", "Resource": "*"}),
            json!({"Effect": "Deny", "Action": "s3:GetObject", "Resource": "*"}),
        ];
        for d in denies {
            let before = principal(json!({"Statement": [allow.clone()]}), None, &[]).1;
            let after = principal(json!({"Statement": [allow.clone(), d.clone()]}), None, &[]).1;
            assert!(after.minus(&before).is_empty(), "{d}");
        }
    }
}
