#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rampart_model::{Asset, Provider, ResourceType};
use serde_json::{Value, json};

use super::{CelError, Program};

fn asset(config: Value) -> Asset {
    let t = ResourceType::parse("aws.ec2.security_group").unwrap();
    let mut tags = BTreeMap::new();
    tags.insert("env".to_string(), "prod".to_string());
    Asset {
        id: "ast_1".into(),
        provider: Provider::Aws,
        account: "111122223333".into(),
        region: "eu-west-1".into(),
        resource_type: t,
        native_id: "sg-1".into(),
        name: "web".into(),
        tags,
        config,
        first_seen: DateTime::UNIX_EPOCH,
        last_seen: DateTime::UNIX_EPOCH,
    }
}

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-06-01T00:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

fn eval(expr: &str, config: Value) -> Result<Value, String> {
    let p = Program::compile(expr).map_err(|e| format!("compile: {e}"))?;
    p.eval(&asset(config), now()).map_err(|e| e.message)
}

fn ok(expr: &str, config: Value) -> Value {
    eval(expr, config).unwrap_or_else(|e| panic!("{expr}: {e}"))
}

fn compile_err(expr: &str) -> CelError {
    match Program::compile(expr) {
        Ok(_) => panic!("{expr} should not compile"),
        Err(e) => e,
    }
}

#[test]
fn literals_and_arithmetic() {
    let c = json!({});
    assert_eq!(ok("1 + 2 * 3", c.clone()), json!(7));
    assert_eq!(ok("(1 + 2) * 3", c.clone()), json!(9));
    assert_eq!(ok("7 / 2", c.clone()), json!(3));
    assert_eq!(ok("7 % 4", c.clone()), json!(3));
    assert_eq!(ok("-5 + 2", c.clone()), json!(-3));
    assert_eq!(ok("1.5 + 1.0", c.clone()), json!(2.5));
    assert_eq!(ok("2u + 3u", c.clone()), json!(5));
    assert_eq!(ok("'a' + \"b\"", c.clone()), json!("ab"));
    assert_eq!(ok("r'\\d' + '\\n'", c.clone()), json!("\\d\n"));
    assert_eq!(ok("'''x'y'''", c.clone()), json!("x'y"));
    assert_eq!(ok("'\\u00e9\\x41\\101'", c.clone()), json!("éAA"));
    assert_eq!(ok("0x10", c.clone()), json!(16));
    assert_eq!(ok("-9223372036854775808", c.clone()), json!(i64::MIN));
    assert_eq!(ok("[1, 2] + [3]", c.clone()), json!([1, 2, 3]));
    assert_eq!(ok("{'a': 1}.a", c.clone()), json!(1));
    assert_eq!(ok("true ? 'y' : 'n'", c.clone()), json!("y"));
    assert_eq!(ok("null == null", c), json!(true));
}

#[test]
fn arithmetic_errors_are_errors() {
    assert!(
        eval("1 / 0", json!({}))
            .unwrap_err()
            .contains("division by zero")
    );
    assert!(
        eval("9223372036854775807 + 1", json!({}))
            .unwrap_err()
            .contains("overflow")
    );
    assert!(
        eval("1 + 1.0", json!({}))
            .unwrap_err()
            .contains("no operator")
    );
    assert!(eval("0u - 1u", json!({})).unwrap_err().contains("overflow"));
}

#[test]
fn heterogeneous_numeric_comparison() {
    let c = json!({"port": 22, "ratio": 0.5});
    assert_eq!(ok("resource.config.port == 22.0", c.clone()), json!(true));
    assert_eq!(ok("resource.config.port == 22u", c.clone()), json!(true));
    assert_eq!(ok("resource.config.ratio < 1", c.clone()), json!(true));
    assert_eq!(ok("resource.config.port > 21u", c.clone()), json!(true));
    assert_eq!(ok("-1 < 0u", c.clone()), json!(true));
    assert_eq!(ok("resource.config.port == '22'", c), json!(false));
}

#[test]
fn resource_fields_and_tags() {
    let c = json!({});
    assert_eq!(ok("resource.name", c.clone()), json!("web"));
    assert_eq!(
        ok("resource.type", c.clone()),
        json!("aws.ec2.security_group")
    );
    assert_eq!(ok("resource.provider == 'aws'", c.clone()), json!(true));
    assert_eq!(ok("resource.tags.env", c.clone()), json!("prod"));
    assert_eq!(ok("resource.tags['env'] == 'prod'", c.clone()), json!(true));
    assert_eq!(ok("'env' in resource.tags", c.clone()), json!(true));
    assert_eq!(ok("has(resource.tags.owner)", c.clone()), json!(false));
    assert_eq!(
        ok("resource.tags.exists(k, k == 'env')", c.clone()),
        json!(true)
    );
    assert_eq!(ok("size(resource.tags)", c), json!(1));
}

#[test]
fn json_navigation_and_has() {
    let c = json!({"a": {"b": [10, 20, {"c": "x"}], "n": null}});
    assert_eq!(ok("resource.config.a.b[1]", c.clone()), json!(20));
    assert_eq!(ok("resource.config.a.b[2].c", c.clone()), json!("x"));
    assert_eq!(ok("resource.config['a']['b'][0]", c.clone()), json!(10));
    assert_eq!(ok("has(resource.config.a)", c.clone()), json!(true));
    assert_eq!(ok("has(resource.config.a.n)", c.clone()), json!(false));
    assert_eq!(ok("has(resource.config.zz)", c.clone()), json!(false));
    assert_eq!(ok("size(resource.config.a.b)", c.clone()), json!(3));
    assert_eq!(ok("resource.config.a.b.size()", c.clone()), json!(3));
    assert_eq!(ok("20 in resource.config.a.b", c.clone()), json!(true));
    assert_eq!(ok("'b' in resource.config.a", c.clone()), json!(true));
    let e = eval("resource.config.zz == 1", c.clone()).unwrap_err();
    assert!(e.contains("no such key: zz"), "{e}");
    let e = eval("resource.config.a.b[7]", c).unwrap_err();
    assert!(e.contains("out of range"), "{e}");
}

#[test]
fn logical_operators_absorb_errors_commutatively() {
    let c = json!({});
    assert_eq!(
        ok("resource.config.missing || true", c.clone()),
        json!(true)
    );
    assert_eq!(
        ok("true || resource.config.missing", c.clone()),
        json!(true)
    );
    assert_eq!(
        ok("resource.config.missing && false", c.clone()),
        json!(false)
    );
    assert_eq!(
        ok("false && resource.config.missing", c.clone()),
        json!(false)
    );
    assert!(eval("resource.config.missing && true", c.clone()).is_err());
    assert!(eval("false || resource.config.missing", c.clone()).is_err());
    assert!(eval("1 && true", c).is_err());
}

#[test]
fn macros() {
    let c = json!({"rules": [
        {"ipProtocol": "tcp", "fromPort": 80, "toPort": 80, "cidrs": ["10.0.0.0/8"]},
        {"ipProtocol": "tcp", "fromPort": 20, "toPort": 25, "cidrs": ["0.0.0.0/0"]}
    ]});
    assert_eq!(
        ok(
            "resource.config.rules.exists(r, r.fromPort <= 22 && r.toPort >= 22 && '0.0.0.0/0' in r.cidrs)",
            c.clone()
        ),
        json!(true)
    );
    assert_eq!(
        ok(
            "resource.config.rules.all(r, r.ipProtocol == 'tcp')",
            c.clone()
        ),
        json!(true)
    );
    assert_eq!(
        ok(
            "resource.config.rules.exists_one(r, r.fromPort == 80)",
            c.clone()
        ),
        json!(true)
    );
    assert_eq!(
        ok("resource.config.rules.map(r, r.fromPort)", c.clone()),
        json!([80, 20])
    );
    assert_eq!(
        ok(
            "resource.config.rules.map(r, r.fromPort > 50, r.toPort)",
            c.clone()
        ),
        json!([80])
    );
    assert_eq!(
        ok(
            "resource.config.rules.filter(r, r.fromPort < 50).size()",
            c.clone()
        ),
        json!(1)
    );
    assert_eq!(ok("[1, 2, 3].all(x, x > 0)", c.clone()), json!(true));
    assert_eq!(ok("[].exists(x, x > 0)", c.clone()), json!(false));
    // Nested comprehensions with shadowing-free variables.
    assert_eq!(
        ok(
            "resource.config.rules.exists(r, r.cidrs.exists(c, c.startsWith('0.')))",
            c.clone()
        ),
        json!(true)
    );
    // An error for one element is absorbed when another decides the result.
    assert_eq!(
        ok("[{'a': 1}, {}].exists(x, x.a == 1)", c.clone()),
        json!(true)
    );
    assert!(eval("[{}, {'a': 2}].exists(x, x.a == 1)", c.clone()).is_err());
    // Field paths on non-JSON loop values take the general path.
    assert_eq!(
        ok("[{'p': 22}].exists(x, x.p <= 22 && x.p != 23)", c.clone()),
        json!(true)
    );
    assert_eq!(
        ok(
            "resource.config.rules.exists(r, r.fromPort > 79 && r.ipProtocol != 'udp')",
            c
        ),
        json!(true)
    );
}

#[test]
fn string_functions() {
    let c = json!({"s": "Hello World", "arn": "arn:aws:iam::123:root"});
    assert_eq!(
        ok("resource.config.s.contains('lo W')", c.clone()),
        json!(true)
    );
    assert_eq!(
        ok("resource.config.s.startsWith('Hell')", c.clone()),
        json!(true)
    );
    assert_eq!(
        ok("resource.config.s.endsWith('x')", c.clone()),
        json!(false)
    );
    assert_eq!(
        ok("resource.config.s.lowerAscii()", c.clone()),
        json!("hello world")
    );
    assert_eq!(
        ok("resource.config.s.upperAscii()", c.clone()),
        json!("HELLO WORLD")
    );
    assert_eq!(
        ok(
            "resource.config.arn.matches('^arn:aws:iam::[0-9]+:root$')",
            c.clone()
        ),
        json!(true)
    );
    assert_eq!(
        ok("matches(resource.config.arn, 'root')", c.clone()),
        json!(true)
    );
    assert_eq!(
        ok("resource.config.arn.split(':').size()", c.clone()),
        json!(6)
    );
    assert_eq!(ok("size('héllo')", c.clone()), json!(5));
    assert_eq!(ok("string(42) + string(true)", c.clone()), json!("42true"));
    assert_eq!(ok("int('17') + int(2.9)", c.clone()), json!(19));
    assert_eq!(ok("double(1) / 4.0", c.clone()), json!(0.25));
    assert_eq!(ok("bool('true')", c), json!(true));
}

#[test]
fn timestamps_and_durations() {
    let c = json!({"created": "2026-01-01T00:00:00Z", "used": "2026-05-20T12:00:00.000Z"});
    assert_eq!(
        ok(
            "now - timestamp(resource.config.created) > duration('90d')",
            c.clone()
        ),
        json!(true)
    );
    assert_eq!(
        ok(
            "now - timestamp(resource.config.used) > duration('45d')",
            c.clone()
        ),
        json!(false)
    );
    assert_eq!(
        ok(
            "timestamp(resource.config.created) + duration('24h') < now",
            c.clone()
        ),
        json!(true)
    );
    assert_eq!(
        ok("duration('1h30m') == duration('90m')", c.clone()),
        json!(true)
    );
    assert_eq!(
        ok("timestamp('2026-06-01T00:00:00+00:00') == now", c.clone()),
        json!(true)
    );
    assert!(
        eval("timestamp('yesterday') < now", c.clone()).is_err()
            || Program::compile("timestamp('yesterday')").is_err()
    );
    assert!(eval("timestamp(resource.config.created) < 5", c).is_err());
}

#[test]
fn compile_errors_have_positions() {
    let e = compile_err("resource.config.a ==");
    assert_eq!((e.line, e.column), (1, 21));
    assert!(e.message.contains("unexpected end"), "{}", e.message);

    let e = compile_err("resource.config.a &&\n  bogus.b");
    assert_eq!((e.line, e.column), (2, 3));
    assert!(e.message.contains("undeclared reference to `bogus`"));

    let e = compile_err("resource.nope");
    assert!(e.message.contains("`resource` has no field `nope`"));

    let e = compile_err("resource.config.a.frobnicate()");
    assert!(e.message.contains("unknown function `frobnicate`"));
    assert_eq!(e.column, 19);

    let e = compile_err("resource.config.s.matches('(')");
    assert!(e.message.contains("invalid regular expression"));

    let e = compile_err("duration('soon')");
    assert!(e.message.contains("invalid duration"));

    assert!(compile_err("a = 1").message.contains("use `==`"));
    assert!(
        compile_err("b'xyz'")
            .message
            .contains("bytes literals are not supported")
    );
    assert!(
        compile_err("google.protobuf.Duration{seconds: 1}")
            .message
            .contains("message construction")
    );
    assert!(
        compile_err("resource.config.?a")
            .message
            .contains("not supported")
    );
    assert!(
        compile_err("'unterminated")
            .message
            .contains("unterminated string")
    );
    assert!(compile_err("[1, 2").message.contains("expected `,` or `]`"));
    assert!(
        compile_err("x.exists(1, true)")
            .message
            .contains("undeclared")
            || compile_err("resource.config.x.exists(1, true)")
                .message
                .contains("variable name")
    );
    assert!(
        compile_err("has(resource)")
            .message
            .contains("field selection")
    );
    assert!(compile_err("").message.contains("empty"));
    let nested = "[[[[[[[[[1]]]]]]]]].exists(a, a.exists(b, b.exists(c, c.exists(d, d.exists(e, e.exists(f, f.exists(g, g.exists(h, h.exists(i, true)))))))))";
    assert!(
        compile_err(nested)
            .message
            .contains("nested comprehensions")
    );
    assert!(compile_err("if").message.contains("reserved"));
}

#[test]
fn deep_nesting_is_rejected_not_a_stack_overflow() {
    let expr = format!("{}1{}", "(".repeat(5000), ")".repeat(5000));
    assert!(compile_err(&expr).message.contains("nested too deeply"));
    // Just under the limit: parses, compiles and evaluates on a default 2 MiB test thread.
    let expr = format!("{}1{}", "(".repeat(95), ")".repeat(95));
    assert_eq!(ok(&expr, json!({})), json!(1));
    let expr = format!("{}true", "!".repeat(90));
    assert_eq!(ok(&expr, json!({})), json!(true));
    let expr = format!("{}true", "!".repeat(5000));
    assert!(compile_err(&expr).message.contains("nested too deeply"));
}

#[test]
fn non_bool_predicates_are_errors() {
    let p = Program::compile("resource.name").unwrap();
    assert!(p.eval_bool(&asset(json!({})), now()).is_err());
}

/// Found by the `cel` fuzz target: a one-byte operator followed by a multi-byte character made
/// the lexer slice inside that character (`src[i..i + 2]`) and panic.
#[test]
fn operator_before_a_multi_byte_character_is_an_error_not_a_panic() {
    for (src, column) in [
        ("1 <Ԋ", 4),
        ("a ==é", 5),
        ("[1,Ԋ", 4),
        ("!名", 2),
        ("x|é", 2),
    ] {
        let e = compile_err(src);
        assert_eq!((e.line, e.column), (1, column), "{src}: {e}");
        assert!(src.is_char_boundary(e.offset), "{src}: {e}");
    }
}
