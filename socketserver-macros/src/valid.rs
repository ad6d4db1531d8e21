//! Checks that need several keys at once, read from the key table: whether
//! each option applies to the chosen transport and concurrency model, and
//! whether it exists in this version. The result is the [`Model`] that
//! `expand.rs` turns into code.

use crate::attr::Config;
use crate::diag::{Errors, join};
use crate::table::{Choice, Concurrency, Sets, Transport};

/// A validated `#[server]`: what to generate.
pub(crate) struct Model {
    pub(crate) transport: Transport,
    pub(crate) concurrency: Concurrency,
    pub(crate) config: Config,
}

pub(crate) fn validate(config: Config, errors: &mut Errors) -> Model {
    let transport = config.transport().map_or(Transport::DEFAULT, |(t, _)| t);
    let concurrency = config
        .concurrency()
        .map_or(Concurrency::DEFAULT, |(c, _)| c);

    for &(key, span) in &config.written {
        let mut applies = true;
        if !key.transports.is_empty() && !key.transports.contains(&transport) {
            applies = false;
            errors.add(span, not_for(key.name, transport, key.transports));
        }
        if !key.models.is_empty() && !key.models.contains(&concurrency) {
            applies = false;
            errors.add(span, not_for(key.name, concurrency, key.models));
        }
        // Only said where the key would otherwise be right.
        if key.sets == Sets::Later && applies {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attr::parse;
    use crate::table::KEYS;
    use proc_macro2::Span;
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
    fn every_key_that_sets_a_method_applies_somewhere() {
        for key in KEYS {
            if matches!(key.sets, Sets::Method(_) | Sets::MethodSome(_)) {
                let somewhere = Transport::ALL
                    .iter()
                    .any(|t| Concurrency::ALL.iter().any(|c| key.applies(*t, *c)));
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
                "`max_connections` does not apply to `concurrency = \"sync\"`; it applies to `concurrency = \"threading\"`, `concurrency = \"pool\"`, `concurrency = \"forking\"` or `concurrency = \"event\"`"
            ]
        );
        assert_eq!(
            errors_of(quote! { concurrency = "pool", queue = 0 }),
            ["`queue` must be between 1 and 4294967295"]
        );
    }

    #[test]
    fn the_event_model_and_its_workers_are_available() {
        for transport in ["tcp", "udp", "unix", "unix_datagram"] {
            let mut errors = Errors::default();
            let config = parse(
                quote! { transport = #transport, concurrency = "event", workers = 4 },
                &mut errors,
            );
            let model = validate(config, &mut errors);
            assert!(errors.finish().is_ok(), "{transport}");
            assert_eq!(model.concurrency, Concurrency::Event);
        }
        assert!(
            errors_of(quote! { concurrency = "event", conn = "u64", timeout = "30s" }).is_empty()
        );
        assert_eq!(
            errors_of(quote! { concurrency = "event", workers = 0 }),
            ["`workers` must be between 1 and 4096"]
        );
        assert_eq!(
            errors_of(quote! { concurrency = "event", queue = 8 }),
            [
                "`queue` does not apply to `concurrency = \"event\"`; it applies to `concurrency = \"pool\"`"
            ]
        );
        assert_eq!(
            errors_of(quote! { transport = "udp", concurrency = "event", conn = "u64" }),
            [
                "`conn` does not apply to `transport = \"udp\"`; it applies to `transport = \"tcp\"` or `transport = \"unix\"`"
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
