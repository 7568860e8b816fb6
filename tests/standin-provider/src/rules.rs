//! Security group rules: the `ingress`/`egress` objects of `aws_security_group`
//! and their reduction to "atoms" (one protocol/port range, one source, one
//! description), which is what AWS actually stores.
//!
//! A read maps what AWS has back to rules deterministically:
//! 1. every rule of the prior state whose atoms all still exist is kept as
//!    it was written (so a refresh without change gives no diff, whatever
//!    shape the configuration used: nulls, several CIDRs per rule, ...);
//! 2. the atoms left over (rules added outside terraform, or everything on
//!    import) are grouped into canonical rules: one per (protocol, from_port,
//!    to_port, description), sources sorted, empty lists `[]`, `self` false
//!    unless a self reference is present, description `""` when none.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use tf_provider::value::Value;

use crate::common::{Bool, Num, Str, StrList};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Rule {
    pub from_port: Num,
    pub to_port: Num,
    pub protocol: Str,
    pub cidr_blocks: StrList,
    pub ipv6_cidr_blocks: StrList,
    pub prefix_list_ids: StrList,
    pub security_groups: StrList,
    #[serde(rename = "self")]
    pub self_: Bool,
    pub description: Str,
}

pub type Rules = Value<Vec<Rule>>;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Source {
    Cidr(String),
    Ipv6(String),
    PrefixList(String),
    Group(String),
    SelfRef,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Atom {
    pub protocol: String,
    pub from: i64,
    pub to: i64,
    pub description: String,
    pub source: Source,
}

/// AWS's spelling of a protocol: names lower case, `6`/`17`/`1` as
/// `tcp`/`udp`/`icmp`, `all` as `-1`.
pub fn normalize_protocol(protocol: &str) -> String {
    let p = protocol.trim().to_ascii_lowercase();
    match p.as_str() {
        "6" => "tcp".into(),
        "17" => "udp".into(),
        "1" => "icmp".into(),
        "all" => "-1".into(),
        _ => p,
    }
}

/// Ports as AWS keeps them: none (0, 0) for all protocols.
pub fn normalize_ports(protocol: &str, from: i64, to: i64) -> (i64, i64) {
    if protocol == "-1" {
        (0, 0)
    } else {
        (from, to)
    }
}

fn known_strings(list: &StrList) -> Option<Vec<String>> {
    match list {
        Value::Null => Some(Vec::new()),
        Value::Unknown => None,
        Value::Value(items) => items
            .iter()
            .map(|i| match i {
                Value::Value(s) => Some(Some(s.clone())),
                Value::Null => Some(None),
                Value::Unknown => None,
            })
            .collect::<Option<Vec<_>>>()
            .map(|v| v.into_iter().flatten().collect()),
    }
}

/// The atoms of one rule; `None` while anything in it is unknown.
pub fn rule_atoms(rule: &Rule, own_id: Option<&str>) -> Option<Vec<Atom>> {
    let protocol = match &rule.protocol {
        Value::Value(p) => normalize_protocol(p),
        Value::Null => return Some(Vec::new()),
        Value::Unknown => return None,
    };
    let port = |v: &Num| match v {
        Value::Value(n) => Some(*n),
        Value::Null => Some(0),
        Value::Unknown => None,
    };
    let (from, to) = normalize_ports(&protocol, port(&rule.from_port)?, port(&rule.to_port)?);
    let description = match &rule.description {
        Value::Value(d) => d.clone(),
        Value::Null => String::new(),
        Value::Unknown => return None,
    };
    let mut sources = Vec::new();
    sources.extend(
        known_strings(&rule.cidr_blocks)?
            .into_iter()
            .map(Source::Cidr),
    );
    sources.extend(
        known_strings(&rule.ipv6_cidr_blocks)?
            .into_iter()
            .map(Source::Ipv6),
    );
    sources.extend(
        known_strings(&rule.prefix_list_ids)?
            .into_iter()
            .map(Source::PrefixList),
    );
    sources.extend(known_strings(&rule.security_groups)?.into_iter().map(|g| {
        if Some(g.as_str()) == own_id {
            Source::SelfRef
        } else {
            Source::Group(g)
        }
    }));
    match rule.self_ {
        Value::Value(true) => sources.push(Source::SelfRef),
        Value::Value(false) | Value::Null => {}
        Value::Unknown => return None,
    }
    Some(
        sources
            .into_iter()
            .map(|source| Atom {
                protocol: protocol.clone(),
                from,
                to,
                description: description.clone(),
                source,
            })
            .collect(),
    )
}

/// All atoms of a rule set (null = none); `None` while anything is unknown.
pub fn rules_atoms(rules: &Rules, own_id: Option<&str>) -> Option<BTreeSet<Atom>> {
    match rules {
        Value::Null => Some(BTreeSet::new()),
        Value::Unknown => None,
        Value::Value(list) => {
            let mut all = BTreeSet::new();
            for rule in list {
                all.extend(rule_atoms(rule, own_id)?);
            }
            Some(all)
        }
    }
}

/// Whether two rule sets mean the same thing to AWS.
pub fn equivalent(a: &Rules, b: &Rules, own_id: Option<&str>) -> bool {
    match (rules_atoms(a, own_id), rules_atoms(b, own_id)) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

fn strings(list: Vec<String>) -> StrList {
    Value::Value(list.into_iter().map(Value::Value).collect())
}

/// Canonical rules for a set of atoms (see the module docs).
pub fn canonical_rules(atoms: &BTreeSet<Atom>) -> Vec<Rule> {
    let mut out: Vec<Rule> = Vec::new();
    let mut key: Option<(&str, i64, i64, &str)> = None;
    let mut group: Vec<&Atom> = Vec::new();
    let flush = |group: &mut Vec<&Atom>, out: &mut Vec<Rule>| {
        let Some(first) = group.first() else {
            return;
        };
        let pick = |f: fn(&Source) -> Option<String>| -> Vec<String> {
            group.iter().filter_map(|a| f(&a.source)).collect()
        };
        out.push(Rule {
            from_port: Value::Value(first.from),
            to_port: Value::Value(first.to),
            protocol: Value::Value(first.protocol.clone()),
            cidr_blocks: strings(pick(|s| match s {
                Source::Cidr(c) => Some(c.clone()),
                _ => None,
            })),
            ipv6_cidr_blocks: strings(pick(|s| match s {
                Source::Ipv6(c) => Some(c.clone()),
                _ => None,
            })),
            prefix_list_ids: strings(pick(|s| match s {
                Source::PrefixList(c) => Some(c.clone()),
                _ => None,
            })),
            security_groups: strings(pick(|s| match s {
                Source::Group(c) => Some(c.clone()),
                _ => None,
            })),
            self_: Value::Value(group.iter().any(|a| a.source == Source::SelfRef)),
            description: Value::Value(first.description.clone()),
        });
        group.clear();
    };
    for atom in atoms {
        let k = (
            atom.protocol.as_str(),
            atom.from,
            atom.to,
            atom.description.as_str(),
        );
        if key != Some(k) {
            flush(&mut group, &mut out);
            key = Some(k);
        }
        group.push(atom);
    }
    flush(&mut group, &mut out);
    out
}

/// What a read reports for one direction: prior rules that still fully
/// exist, as written, then canonical rules for whatever else AWS has.
pub fn reconcile(prior: &Rules, actual: &BTreeSet<Atom>, own_id: &str) -> Vec<Rule> {
    let mut remaining = actual.clone();
    let mut out = Vec::new();
    if let Value::Value(rules) = prior {
        for rule in rules {
            let Some(atoms) = rule_atoms(rule, Some(own_id)) else {
                continue;
            };
            if !atoms.is_empty() && atoms.iter().all(|a| remaining.contains(a)) {
                for a in &atoms {
                    remaining.remove(a);
                }
                out.push(rule.clone());
            }
        }
    }
    out.extend(canonical_rules(&remaining));
    out
}

/// Planned value of `ingress`/`egress` (optional + computed): null config
/// keeps the prior value (terraform then does not manage that direction),
/// an equivalent config keeps the prior spelling (no diff), otherwise the
/// config.
pub fn plan_rules(config: &Rules, prior: Option<&Rules>, own_id: Option<&str>) -> Rules {
    match (config, prior) {
        (Value::Null, Some(prior)) => prior.clone(),
        (Value::Null, None) => Value::Unknown,
        (Value::Value(_), Some(prior @ Value::Value(_))) if equivalent(config, prior, own_id) => {
            prior.clone()
        }
        (config, _) => config.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> Str {
        Value::Value(v.to_string())
    }

    fn list(v: &[&str]) -> StrList {
        Value::Value(v.iter().map(|x| s(x)).collect())
    }

    fn tcp(port: i64, cidrs: &[&str]) -> Rule {
        Rule {
            from_port: Value::Value(port),
            to_port: Value::Value(port),
            protocol: s("tcp"),
            cidr_blocks: list(cidrs),
            ..Default::default()
        }
    }

    fn atom(port: i64, source: Source) -> Atom {
        Atom {
            protocol: "tcp".into(),
            from: port,
            to: port,
            description: String::new(),
            source,
        }
    }

    #[test]
    fn protocols_are_normalized() {
        assert_eq!(normalize_protocol("TCP"), "tcp");
        assert_eq!(normalize_protocol("6"), "tcp");
        assert_eq!(normalize_protocol("all"), "-1");
        assert_eq!(normalize_protocol("50"), "50");
        assert_eq!(normalize_ports("-1", 0, 65535), (0, 0));
    }

    #[test]
    fn nulls_and_empty_lists_mean_the_same() {
        let block_style = tcp(443, &["10.0.0.0/8"]);
        let attr_style = Rule {
            ipv6_cidr_blocks: list(&[]),
            prefix_list_ids: list(&[]),
            security_groups: list(&[]),
            self_: Value::Value(false),
            description: s(""),
            ..tcp(443, &["10.0.0.0/8"])
        };
        assert!(equivalent(
            &Value::Value(vec![block_style]),
            &Value::Value(vec![attr_style]),
            None
        ));
    }

    #[test]
    fn prior_rules_are_kept_as_written_and_extras_are_canonical() {
        let prior = Value::Value(vec![tcp(443, &["10.0.0.0/8", "192.168.0.0/16"])]);
        let mut actual = rules_atoms(&prior, Some("sg-1")).unwrap();
        actual.insert(atom(22, Source::Cidr("0.0.0.0/0".into())));
        let rules = reconcile(&prior, &actual, "sg-1");
        assert_eq!(rules.len(), 2);
        assert_eq!(rules[0], tcp(443, &["10.0.0.0/8", "192.168.0.0/16"]));
        assert_eq!(
            rules[1],
            Rule {
                ipv6_cidr_blocks: list(&[]),
                prefix_list_ids: list(&[]),
                security_groups: list(&[]),
                self_: Value::Value(false),
                description: s(""),
                ..tcp(22, &["0.0.0.0/0"])
            }
        );
        // Same input, same output: deterministic.
        assert_eq!(reconcile(&prior, &actual, "sg-1"), rules);
    }

    #[test]
    fn a_rule_partly_gone_is_reported_canonically() {
        let prior = Value::Value(vec![tcp(443, &["10.0.0.0/8", "192.168.0.0/16"])]);
        let actual: BTreeSet<Atom> = [atom(443, Source::Cidr("10.0.0.0/8".into()))].into();
        let rules = reconcile(&prior, &actual, "sg-1");
        assert_eq!(rules.len(), 1);
        assert_eq!(rules[0].cidr_blocks, list(&["10.0.0.0/8"]));
    }

    #[test]
    fn self_references_and_groups() {
        let rule = Rule {
            security_groups: list(&["sg-1", "sg-2"]),
            ..tcp(5432, &[])
        };
        let atoms = rule_atoms(&rule, Some("sg-1")).unwrap();
        assert!(atoms.contains(&atom(5432, Source::SelfRef)));
        assert!(atoms.contains(&atom(5432, Source::Group("sg-2".into()))));
        let canonical = canonical_rules(&atoms.into_iter().collect());
        assert_eq!(canonical.len(), 1);
        assert_eq!(canonical[0].self_, Value::Value(true));
        assert_eq!(canonical[0].security_groups, list(&["sg-2"]));
    }

    #[test]
    fn descriptions_split_canonical_rules() {
        let mut a = atom(80, Source::Cidr("10.0.0.0/8".into()));
        a.description = "lan".into();
        let b = atom(80, Source::Cidr("0.0.0.0/0".into()));
        let rules = canonical_rules(&[a, b].into());
        assert_eq!(rules.len(), 2);
        assert_eq!(rules[0].description, s(""));
        assert_eq!(rules[1].description, s("lan"));
    }

    #[test]
    fn planning_keeps_equivalent_prior_spelling() {
        let prior: Rules = Value::Value(vec![tcp(443, &["10.0.0.0/8"])]);
        let config: Rules = Value::Value(vec![Rule {
            description: s(""),
            ..tcp(443, &["10.0.0.0/8"])
        }]);
        assert_eq!(plan_rules(&config, Some(&prior), Some("sg-1")), prior);
        let changed: Rules = Value::Value(vec![tcp(8443, &["10.0.0.0/8"])]);
        assert_eq!(plan_rules(&changed, Some(&prior), Some("sg-1")), changed);
        assert_eq!(plan_rules(&Value::Null, Some(&prior), None), prior);
        assert_eq!(plan_rules(&Value::Null, None, None), Value::Unknown);
        let unknown: Rules = Value::Value(vec![Rule {
            cidr_blocks: Value::Unknown,
            ..tcp(443, &[])
        }]);
        assert_eq!(plan_rules(&unknown, Some(&prior), None), unknown);
    }
}
