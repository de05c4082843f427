//! `rules.json`: claim rules (an issuer's: `claim_invalid`; a route's: `scope_insufficient`,
//! each naming the claim), role policies in go-authkit's shape, and optional
//! authentication. A case's `require` is the route requirement, `optional` the route's mode.

use crate::common::*;

/// The claims every rule case starts from.
fn rich_claims() -> Value {
    let mut c = claims();
    let extra = json!({
        "azp": "my-client",
        "groups": ["admins", "dev"],
        "level": 3,
        "tenant": "t-1",
        "nothing": null,
        "realm_access": {"roles": ["api-user", "auditor"]},
        "a/b": {"~c": "odd"},
        "orgs": [{"id": "o-1"}, {"id": "o-2"}]
    });
    for (k, v) in extra.as_object().unwrap() {
        c[k] = v.clone();
    }
    c
}

pub(crate) fn rule_cases(k: &Keys) -> Vec<Case> {
    let s = Signer::Hmac(&k.hs256);
    let key = vec![jwks(vec![public_jwk(&s, Some("h"), None)])];
    let cfg = config(&["HS256"], key.clone());
    let with_rules = |rules: Value| {
        let mut c = cfg.clone();
        c["issuers"][0]["rules"] = rules;
        c
    };
    let token = |claims: &Value| jwt("HS256", &s, Some("h"), claims);
    let rich = rich_claims();
    let edit = |f: &dyn Fn(&mut Value)| {
        let mut c = rich_claims();
        f(&mut c);
        c
    };
    let mut out = Vec::new();

    // Issuer rules: "is this token for us at all".
    let issuer: Vec<(&str, &str, Value, Value, Value)> = vec![
        (
            "azp_equals",
            "azp equals my-client",
            json!([{"claim": "azp", "equals": "my-client"}]),
            rich.clone(),
            valid(&rich),
        ),
        (
            "azp_differs",
            "azp is another client",
            json!([{"claim": "azp", "equals": "other"}]),
            rich.clone(),
            rejected_claim("claim_invalid", "azp"),
        ),
        (
            "azp_absent",
            "the token has no azp",
            json!([{"claim": "azp", "equals": "my-client"}]),
            edit(&|c| {
                c.as_object_mut().unwrap().remove("azp");
            }),
            rejected_claim("claim_invalid", "azp"),
        ),
        (
            "pointer_contains",
            "/realm_access/roles contains api-user",
            json!([{"claim": "/realm_access/roles", "contains": "api-user"}]),
            rich.clone(),
            valid(&rich),
        ),
        (
            "pointer_fails",
            "/realm_access/roles lacks admin",
            json!([{"claim": "/realm_access/roles", "contains": "admin"}]),
            rich.clone(),
            rejected_claim("claim_invalid", "/realm_access/roles"),
        ),
        (
            "second_rule_fails",
            "the first rule holds, the second names its claim",
            json!([{"claim": "azp", "equals": "my-client"}, {"claim": "level", "at_least": 5}]),
            rich.clone(),
            rejected_claim("claim_invalid", "level"),
        ),
        (
            "after_time_rules",
            "an expired token breaking a rule is token_expired (rules run last)",
            json!([{"claim": "azp", "equals": "other"}]),
            edit(&|c| c["exp"] = json!(NOW - 10)),
            rejected_claim("token_expired", "exp"),
        ),
        (
            "after_audience",
            "a wrong audience wins over a failing rule",
            json!([{"claim": "azp", "equals": "other"}]),
            edit(&|c| c["aud"] = json!("api://other")),
            rejected_claim("audience_invalid", "aud"),
        ),
        (
            "one_of",
            "azp is one of two clients",
            json!([{"claim": "azp", "one_of": ["cli", "my-client"]}]),
            rich.clone(),
            valid(&rich),
        ),
        (
            "exists_false",
            "a null claim counts as absent",
            json!([{"claim": "nothing", "exists": false}, {"claim": "act", "exists": false}]),
            rich.clone(),
            valid(&rich),
        ),
        (
            "exists_null",
            "exists: true on a null claim fails",
            json!([{"claim": "nothing", "exists": true}]),
            rich.clone(),
            rejected_claim("claim_invalid", "nothing"),
        ),
    ];
    for (name, desc, rules, claims, expect) in issuer {
        out.push(Case::new(
            &format!("rules_issuer_{name}"),
            desc,
            with_rules(rules),
            token(&claims),
            expect,
        ));
    }

    // Bad issuer rules: configurations that must not build.
    let bad: Vec<(&str, &str, Value)> = vec![
        (
            "unknown_operator",
            "`equal` is not an operator",
            json!([{"claim": "azp", "equal": "x"}]),
        ),
        (
            "array_value",
            "equals takes a string, number or boolean",
            json!([{"claim": "azp", "equals": ["x"]}]),
        ),
        (
            "object_value",
            "contains takes a string, number or boolean",
            json!([{"claim": "groups", "contains": {"a": 1}}]),
        ),
        (
            "string_bound",
            "at_least takes a number",
            json!([{"claim": "level", "at_least": "3"}]),
        ),
        (
            "empty_list",
            "one_of needs a value",
            json!([{"claim": "azp", "one_of": []}]),
        ),
        (
            "no_operator",
            "a rule with no operator",
            json!([{"claim": "azp"}]),
        ),
        (
            "bad_pointer",
            "~2 is not a JSON Pointer escape",
            json!([{"claim": "/a~2b", "exists": true}]),
        ),
        (
            "empty_claim",
            "an empty claim name",
            json!([{"claim": "", "exists": true}]),
        ),
        (
            "not_a_list",
            "rules is a list",
            json!({"claim": "azp", "equals": "x"}),
        ),
    ];
    for (name, desc, rules) in bad {
        out.push(Case::new(
            &format!("rules_config_{name}"),
            desc,
            with_rules(rules),
            token(&rich),
            rejected("config_invalid"),
        ));
    }

    // Route rules: what this caller may do.
    let route: Vec<(&str, &str, Value, Value, Value)> = vec![
        (
            "equals",
            "tenant equals t-1",
            json!({"rules": [{"claim": "tenant", "equals": "t-1"}]}),
            rich.clone(),
            valid(&rich),
        ),
        (
            "equals_fails",
            "tenant is not t-2",
            json!({"rules": [{"claim": "tenant", "equals": "t-2"}]}),
            rich.clone(),
            rejected_claim("scope_insufficient", "tenant"),
        ),
        (
            "number_equals",
            "3 equals 3.0",
            json!({"rules": [{"claim": "level", "equals": 3.0}]}),
            rich.clone(),
            valid(&rich),
        ),
        (
            "big_integer_equals",
            "account 2^53 + 8 equals 2^53 + 8",
            json!({"rules": [{"claim": "account", "equals": 9_007_199_254_741_000u64}]}),
            edit(&|c| c["account"] = json!(9_007_199_254_741_000u64)),
            valid(&edit(&|c| c["account"] = json!(9_007_199_254_741_000u64))),
        ),
        (
            "big_integer_neighbour",
            "account 2^53 + 9 is not 2^53 + 8 (the same f64)",
            json!({"rules": [{"claim": "account", "equals": 9_007_199_254_741_000u64}]}),
            edit(&|c| c["account"] = json!(9_007_199_254_741_001u64)),
            rejected_claim("scope_insufficient", "account"),
        ),
        (
            "big_integer_one_of",
            "account 2^53 + 9 is none of 2^53 + 8, 1",
            json!({"rules": [{"claim": "account", "one_of": [9_007_199_254_741_000u64, 1]}]}),
            edit(&|c| c["account"] = json!(9_007_199_254_741_001u64)),
            rejected_claim("scope_insufficient", "account"),
        ),
        (
            "big_integer_at_most",
            "account 2^53 + 9 is above 2^53 + 8",
            json!({"rules": [{"claim": "account", "at_most": 9_007_199_254_741_000u64}]}),
            edit(&|c| c["account"] = json!(9_007_199_254_741_001u64)),
            rejected_claim("scope_insufficient", "account"),
        ),
        (
            "type_differs",
            "the string \"3\" is not the number 3",
            json!({"rules": [{"claim": "level", "equals": "3"}]}),
            rich.clone(),
            rejected_claim("scope_insufficient", "level"),
        ),
        (
            "contains",
            "groups contains admins",
            json!({"rules": [{"claim": "groups", "contains": "admins"}]}),
            rich.clone(),
            valid(&rich),
        ),
        (
            "contains_not_array",
            "contains on a string claim fails",
            json!({"rules": [{"claim": "azp", "contains": "my-client"}]}),
            rich.clone(),
            rejected_claim("scope_insufficient", "azp"),
        ),
        (
            "contains_any",
            "groups holds one of ops, dev",
            json!({"rules": [{"claim": "groups", "contains_any": ["ops", "dev"]}]}),
            rich.clone(),
            valid(&rich),
        ),
        (
            "contains_any_none",
            "groups holds none of ops, qa",
            json!({"rules": [{"claim": "groups", "contains_any": ["ops", "qa"]}]}),
            rich.clone(),
            rejected_claim("scope_insufficient", "groups"),
        ),
        (
            "contains_all",
            "groups holds admins and dev",
            json!({"rules": [{"claim": "groups", "contains_all": ["admins", "dev"]}]}),
            rich.clone(),
            valid(&rich),
        ),
        (
            "contains_all_one_missing",
            "groups lacks ops",
            json!({"rules": [{"claim": "groups", "contains_all": ["admins", "ops"]}]}),
            rich.clone(),
            rejected_claim("scope_insufficient", "groups"),
        ),
        (
            "range",
            "level within 1..=3",
            json!({"rules": [{"claim": "level", "at_least": 1, "at_most": 3}]}),
            rich.clone(),
            valid(&rich),
        ),
        (
            "at_most_fails",
            "level above 2",
            json!({"rules": [{"claim": "level", "at_most": 2}]}),
            rich.clone(),
            rejected_claim("scope_insufficient", "level"),
        ),
        (
            "at_least_not_number",
            "at_least on a string claim fails",
            json!({"rules": [{"claim": "tenant", "at_least": 0}]}),
            rich.clone(),
            rejected_claim("scope_insufficient", "tenant"),
        ),
        (
            "exists",
            "sub exists",
            json!({"rules": [{"claim": "sub", "exists": true}]}),
            rich.clone(),
            valid(&rich),
        ),
        (
            "exists_fails",
            "act does not exist",
            json!({"rules": [{"claim": "act", "exists": true}]}),
            rich.clone(),
            rejected_claim("scope_insufficient", "act"),
        ),
        (
            "pointer_escapes",
            "/a~1b/~0c reaches the member \"~c\" of \"a/b\"",
            json!({"rules": [{"claim": "/a~1b/~0c", "equals": "odd"}]}),
            rich.clone(),
            valid(&rich),
        ),
        (
            "pointer_index",
            "/orgs/1/id is o-2",
            json!({"rules": [{"claim": "/orgs/1/id", "equals": "o-2"}]}),
            rich.clone(),
            valid(&rich),
        ),
        (
            "pointer_past_end",
            "/orgs/2/id does not exist",
            json!({"rules": [{"claim": "/orgs/2/id", "exists": true}]}),
            rich.clone(),
            rejected_claim("scope_insufficient", "/orgs/2/id"),
        ),
        (
            "pointer_nested_fails",
            "/realm_access/roles lacks admin",
            json!({"rules": [{"claim": "/realm_access/roles", "contains": "admin"}]}),
            rich.clone(),
            rejected_claim("scope_insufficient", "/realm_access/roles"),
        ),
        (
            "after_scopes",
            "a missing scope is reported before a failing rule",
            json!({"scopes": ["admin"], "rules": [{"claim": "tenant", "equals": "t-2"}]}),
            rich.clone(),
            rejected("scope_insufficient"),
        ),
        (
            "bad_operator",
            "a route rule with an unknown operator",
            json!({"rules": [{"claim": "tenant", "is": "t-1"}]}),
            rich.clone(),
            rejected("config_invalid"),
        ),
        (
            "bad_pointer",
            "a route rule with a bad pointer",
            json!({"rules": [{"claim": "/x~", "exists": true}]}),
            rich.clone(),
            rejected("config_invalid"),
        ),
        (
            "two_scopes_in_one_string",
            "a required scope with a space is two scopes: a configuration error",
            json!({"scopes": ["read write"]}),
            rich.clone(),
            rejected("config_invalid"),
        ),
        (
            "empty_scope",
            "an empty required scope",
            json!({"scopes": [""]}),
            rich.clone(),
            rejected("config_invalid"),
        ),
        (
            "unknown_field",
            "a requirement field that does not exist",
            json!({"scope": ["read"]}),
            rich.clone(),
            rejected("config_invalid"),
        ),
    ];
    for (name, desc, require, claims, expect) in route {
        let mut case = Case::new(
            &format!("rules_route_{name}"),
            desc,
            cfg.clone(),
            token(&claims),
            expect,
        );
        case.require = Some(require);
        out.push(case);
    }
    let mut both = Case::new(
        "rules_issuer_before_route",
        "an issuer rule fails before a route rule is looked at",
        with_rules(json!([{"claim": "azp", "equals": "other"}])),
        token(&rich),
        rejected_claim("claim_invalid", "azp"),
    );
    both.require = Some(json!({"rules": [{"claim": "tenant", "equals": "t-2"}]}));
    out.push(both);

    // Role policies.
    let policies = |list: Value| edit(&|c| c["scope"] = list.clone());
    let admin = policies(
        json!([{"rn": "my_service", "role": "admin"}, {"rn": "billing", "role": "viewer", "tn": "t-1", "rs": "invoices"}, "read"]),
    );
    let roles: Vec<(&str, &str, Value, Value, Value)> = vec![
        (
            "granted",
            "my_service:admin is granted",
            json!({"roles": ["my_service:admin"]}),
            admin.clone(),
            valid(&admin),
        ),
        (
            "missing",
            "my_service:owner is not granted",
            json!({"roles": ["my_service:owner"]}),
            admin.clone(),
            rejected("scope_insufficient"),
        ),
        (
            "all_one_missing",
            "all of admin and owner",
            json!({"roles": ["my_service:admin", "my_service:owner"]}),
            admin.clone(),
            rejected("scope_insufficient"),
        ),
        (
            "any",
            "any of owner and admin",
            json!({"roles": ["my_service:owner", "my_service:admin"], "role_match": "any"}),
            admin.clone(),
            valid(&admin),
        ),
        (
            "tenant",
            "billing:viewer@t-1 is granted",
            json!({"roles": ["billing:viewer@t-1"]}),
            admin.clone(),
            valid(&admin),
        ),
        (
            "tenant_differs",
            "billing:viewer@t-2 is not",
            json!({"roles": ["billing:viewer@t-2"]}),
            admin.clone(),
            rejected("scope_insufficient"),
        ),
        (
            "untenanted_policy",
            "a policy without tn does not grant rn:role@tn",
            json!({"roles": ["my_service:admin@t-1"]}),
            admin.clone(),
            rejected("scope_insufficient"),
        ),
        (
            "namespace_differs",
            "billing:admin is not my_service:admin",
            json!({"roles": ["billing:admin"]}),
            admin.clone(),
            rejected("scope_insufficient"),
        ),
        (
            "with_string_scopes",
            "roles and the array's string scopes together",
            json!({"scopes": ["read"], "roles": ["my_service:admin"]}),
            admin.clone(),
            valid(&admin),
        ),
        (
            "string_scope_missing",
            "the role is granted, a string scope is not",
            json!({"scopes": ["write"], "roles": ["my_service:admin"]}),
            admin.clone(),
            rejected("scope_insufficient"),
        ),
        (
            "plain_scope_string",
            "a space-delimited scope grants no role",
            json!({"roles": ["my_service:admin"]}),
            rich.clone(),
            rejected("scope_insufficient"),
        ),
        (
            "custom_claim",
            "roles read from /ext/policies",
            json!({"roles": ["my_service:admin"], "role_claim": "/ext/policies"}),
            edit(&|c| c["ext"] = json!({"policies": [{"rn": "my_service", "role": "admin"}]})),
            valid(&edit(&|c| {
                c["ext"] = json!({"policies": [{"rn": "my_service", "role": "admin"}]})
            })),
        ),
        (
            "policy_without_role",
            "a policy object without role",
            json!({"roles": ["my_service:admin"]}),
            policies(json!([{"rn": "my_service"}])),
            rejected_claim("claim_invalid", "scope"),
        ),
        (
            "policy_number",
            "a number among the policies",
            json!({"roles": ["my_service:admin"]}),
            policies(json!([1])),
            rejected_claim("claim_invalid", "scope"),
        ),
        (
            "bad_syntax",
            "\"admin\" is not rn:role",
            json!({"roles": ["admin"]}),
            admin.clone(),
            rejected("config_invalid"),
        ),
        (
            "empty_tenant",
            "\"svc:admin@\" has an empty tenant",
            json!({"roles": ["svc:admin@"]}),
            admin.clone(),
            rejected("config_invalid"),
        ),
    ];
    for (name, desc, require, claims, expect) in roles {
        let mut case = Case::new(
            &format!("roles_{name}"),
            desc,
            cfg.clone(),
            token(&claims),
            expect,
        );
        case.require = Some(require);
        out.push(case);
    }
    let mut scopes_only = Case::new(
        "roles_array_scope_grants_strings",
        "an array scope's strings are scopes, its objects skipped",
        cfg.clone(),
        token(&admin),
        valid(&admin),
    );
    scopes_only.require_scopes = Some(json!({"scopes": ["read"]}));
    out.push(scopes_only);

    // Optional authentication.
    let plain = claims();
    let good = token(&plain);
    let optional: Vec<(&str, &str, Value, Option<Value>, Value)> = vec![
        (
            "no_token",
            "no token: the request goes on anonymous",
            request(&[("Accept", "*/*")], None),
            None,
            anonymous(),
        ),
        (
            "basic_auth",
            "Basic credentials are not a token: anonymous",
            request(&[("Authorization", "Basic dXNlcjpwYXNz")], None),
            None,
            anonymous(),
        ),
        (
            "valid_token",
            "a valid token is verified as usual",
            request(&[("Authorization", &format!("Bearer {good}"))], None),
            None,
            valid(&plain),
        ),
        (
            "bad_token",
            "a token that fails is still refused",
            request(
                &[(
                    "Authorization",
                    &format!("Bearer {}", tamper_signature(&good)),
                )],
                None,
            ),
            None,
            rejected("signature_invalid"),
        ),
        (
            "malformed_token",
            "a malformed token is still refused",
            request(&[("Authorization", "Bearer not-a-jwt")], None),
            None,
            rejected("token_malformed"),
        ),
        (
            "anonymous_skips_requirement",
            "the route's requirement applies to tokens only",
            request(&[], None),
            Some(json!({"scopes": ["admin"]})),
            anonymous(),
        ),
        (
            "token_meets_requirement",
            "a token must still meet the requirement",
            request(&[("Authorization", &format!("Bearer {good}"))], None),
            Some(json!({"scopes": ["admin"]})),
            rejected("scope_insufficient"),
        ),
    ];
    for (name, desc, req, require, expect) in optional {
        out.push(Case {
            name: format!("optional_{name}"),
            description: desc.to_owned(),
            config: cfg.clone(),
            token: None,
            request: Some(req),
            require_scopes: None,
            require,
            optional: true,
            expect,
        });
    }
    out.push(Case {
        name: "optional_off_no_token".into(),
        description: "without optional, no token is token_missing".into(),
        config: cfg,
        token: None,
        request: Some(request(&[], None)),
        require_scopes: None,
        require: None,
        optional: false,
        expect: rejected("token_missing"),
    });
    out
}
