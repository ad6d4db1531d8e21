//! Checks that need several keys at once, read from the key table: whether the
//! chosen transport and concurrency model exist in this version, and whether
//! each option applies to them. The result is the [`Model`] that `expand.rs`
//! turns into code.

use crate::attr::Config;
use crate::diag::{Errors, join};
use crate::table::{Choice, Concurrency, Sets, Transport};
use proc_macro2::Span;

/// A validated `#[server]`: what to generate.
pub(crate) struct Model {
    /// Both available in this version: where the user chose one that is not,
    /// the error is reported and the default stands in, so that the rest of
    /// the expansion still type-checks.
    pub(crate) transport: Transport,
    pub(crate) concurrency: Concurrency,
    pub(crate) config: Config,
}

pub(crate) fn validate(config: Config, errors: &mut Errors) -> Model {
    let transport = available(config.transport(), errors);
    let concurrency = available(config.concurrency(), errors);
    // What the user asked for, even where it is not available: an option is
    // judged against the mode it was written for.
    let asked_transport = config.transport().map_or(transport, |(t, _)| t);
    let asked_concurrency = config.concurrency().map_or(concurrency, |(c, _)| c);

    for &(key, span) in &config.written {
        let mut applies = true;
        if !key.transports.is_empty() && !key.transports.contains(&asked_transport) {
            applies = false;
            errors.add(span, not_for(key.name, asked_transport, key.transports));
        }
        if !key.models.is_empty() && !key.models.contains(&asked_concurrency) {
            applies = false;
            errors.add(span, not_for(key.name, asked_concurrency, key.models));
        }
        // Only said where the key would otherwise be right: a key for a mode
        // this version lacks is answered by the mode's own error.
        let modes_available =
            asked_transport.runtime().is_some() && asked_concurrency.runtime().is_some();
        if key.sets == Sets::Later && applies && modes_available {
            errors.add(
                span,
                format!(
                    "`{}` is not supported yet by this version of socketserver",
                    key.name
                ),
            );
        }
    }
    Model {
        transport,
        concurrency,
        config,
    }
}

/// Option `name` does not apply to the mode `asked`, only to `modes`.
fn not_for<T: Choice>(name: &str, asked: T, modes: &[T]) -> String {
    format!(
        "`{name}` does not apply to `{} = \"{}\"`; it applies to {}",
        T::KEY,
        asked.name(),
        settings(modes)
    )
}

/// `` `key = "a"` or `key = "b"` ``, as the settings would be written.
fn settings<T: Choice>(values: &[T]) -> String {
    join(
        values
            .iter()
            .map(|v| format!("`{} = \"{}\"`", T::KEY, v.name()))
            .collect(),
    )
}

/// The chosen value if this version has it; otherwise an error on the value
/// and the default, so that expansion can go on.
fn available<T: Choice>(setting: Option<(T, Span)>, errors: &mut Errors) -> T {
    let Some((value, span)) = setting else {
        return T::DEFAULT;
    };
    if value.runtime().is_some() {
        return value;
    }
    let have: Vec<_> = T::ALL
        .iter()
        .copied()
        .filter(|v| v.runtime().is_some())
        .collect();
    errors.add(
        span,
        format!(
            "{} `{}` is not available yet in this version of socketserver; use {}",
            T::KEY,
            value.name(),
            settings(&have),
        ),
    );
    T::DEFAULT
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attr::parse;
    use crate::table::KEYS;
    use quote::quote;

    fn errors_of(args: proc_macro2::TokenStream) -> Vec<String> {
        let mut errors = Errors::default();
        let config = parse(args, &mut errors);
        validate(config, &mut errors);
        errors
            .finish()
            .err()
            .map(|e| e.into_iter().map(|e| e.to_string()).collect())
            .unwrap_or_default()
    }

    #[test]
    fn defaults_are_tcp_and_threading() {
        let mut errors = Errors::default();
        let model = validate(Config::default(), &mut errors);
        assert!(errors.finish().is_ok());
        assert_eq!(model.transport, Transport::Tcp);
        assert_eq!(model.concurrency, Concurrency::Threading);
    }

    #[test]
    fn the_defaults_are_available() {
        assert!(Transport::DEFAULT.runtime().is_some());
        assert!(Transport::DEFAULT.request().is_some());
        assert!(Concurrency::DEFAULT.runtime().is_some());
        for transport in Transport::ALL {
            assert_eq!(transport.runtime().is_some(), transport.request().is_some());
        }
    }

    #[test]
    fn every_key_that_sets_a_method_applies_somewhere_available() {
        for key in KEYS {
            if matches!(key.sets, Sets::Method(_) | Sets::MethodSome(_)) {
                let somewhere = Transport::ALL.iter().any(|t| {
                    Concurrency::ALL.iter().any(|c| {
                        t.runtime().is_some() && c.runtime().is_some() && key.applies(*t, *c)
                    })
                });
                assert!(somewhere, "`{}` can never be used", key.name);
            }
        }
    }

    #[test]
    fn options_must_apply_to_the_chosen_modes() {
        assert_eq!(
            errors_of(quote! { concurrency = "sync", daemon_threads = true }),
            [
                "`daemon_threads` does not apply to `concurrency = \"sync\"`; it applies to `concurrency = \"threading\"`"
            ]
        );
        assert_eq!(
            errors_of(quote! { max_children = 4 }),
            [
                "`max_children` does not apply to `concurrency = \"threading\"`; it applies to `concurrency = \"forking\"`"
            ]
        );
    }

    #[test]
    fn keys_of_later_versions_say_so() {
        // Made up, so that the message is checked whatever the table holds.
        static LATER: crate::table::Key = crate::table::Key {
            name: "later",
            value: crate::table::Value::Bool,
            transports: &[],
            models: &[],
            sets: Sets::Later,
            default: "false",
            example: "true",
            python: None,
            doc: "",
        };
        let config = Config {
            written: vec![(&LATER, Span::call_site())],
            ..Config::default()
        };
        let mut errors = Errors::default();
        validate(config, &mut errors);
        let messages: Vec<_> = errors
            .finish()
            .unwrap_err()
            .into_iter()
            .map(|e| e.to_string())
            .collect();
        assert_eq!(
            messages,
            ["`later` is not supported yet by this version of socketserver"]
        );
    }

    #[test]
    fn the_pool_and_the_connection_limit_are_available() {
        assert!(
            errors_of(quote! {
                concurrency = "pool", workers = 4, queue = 16, max_connections = 100
            })
            .is_empty()
        );
        assert!(errors_of(quote! { max_connections = 100 }).is_empty());
        assert_eq!(
            errors_of(quote! { concurrency = "sync", max_connections = 100 }),
            [
                "`max_connections` does not apply to `concurrency = \"sync\"`; it applies to `concurrency = \"threading\"`, `concurrency = \"pool\"` or `concurrency = \"forking\"`"
            ]
        );
        assert_eq!(
            errors_of(quote! { concurrency = "pool", queue = 0 }),
            ["`queue` must be between 1 and 4294967295"]
        );
    }

    #[test]
    fn modes_this_version_lacks_are_named_as_such() {
        assert_eq!(
            errors_of(quote! { concurrency = "event", workers = 4 }),
            [
                "concurrency `event` is not available yet in this version of socketserver; use `concurrency = \"sync\"`, `concurrency = \"threading\"`, `concurrency = \"forking\"` or `concurrency = \"pool\"`"
            ]
        );
    }

    #[test]
    fn forking_and_its_bound_are_available() {
        for transport in ["tcp", "udp", "unix", "unix_datagram"] {
            assert!(
                errors_of(quote! {
                    transport = #transport, concurrency = "forking", max_children = 8
                })
                .is_empty(),
                "{transport}"
            );
        }
        assert_eq!(
            errors_of(quote! { concurrency = "forking", max_children = 0 }),
            ["`max_children` must be between 1 and 4294967295"]
        );
        assert_eq!(
            errors_of(quote! { concurrency = "forking", workers = 2 }),
            [
                "`workers` does not apply to `concurrency = \"forking\"`; it applies to `concurrency = \"pool\"` or `concurrency = \"event\"`"
            ]
        );
    }

    #[test]
    fn an_option_with_a_bad_value_is_still_judged_against_the_mode() {
        assert_eq!(
            errors_of(quote! { workers = 0 }),
            [
                "`workers` must be between 1 and 4096",
                "`workers` does not apply to `concurrency = \"threading\"`; it applies to `concurrency = \"pool\"` or `concurrency = \"event\"`",
            ]
        );
    }

    #[test]
    fn an_option_of_another_transport_is_refused() {
        assert_eq!(
            errors_of(quote! { transport = "udp", nodelay = true }),
            [
                "`nodelay` does not apply to `transport = \"udp\"`; it applies to `transport = \"tcp\"`"
            ]
        );
    }
}
