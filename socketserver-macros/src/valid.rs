//! Checks that need several keys at once: whether the chosen transport and
//! concurrency exist in this version, and whether each option applies to them.
//! The result is the [`Model`] that `expand.rs` turns into code.

use crate::attr::{Concurrency, Config, Errors, Setting, Transport, join};
use proc_macro2::Span;

/// The transports this version of the runtime implements.
const AVAILABLE_TRANSPORTS: &[Transport] = &[Transport::Tcp];
/// The concurrency models this version of the runtime implements.
const AVAILABLE_CONCURRENCY: &[Concurrency] = &[Concurrency::Sync, Concurrency::Threading];

/// A validated `#[server]`: what to generate.
pub(crate) struct Model {
    pub(crate) transport: Transport,
    pub(crate) concurrency: Concurrency,
    pub(crate) config: Config,
}

/// Defaults when a key is absent: TCP, a thread per connection.
const DEFAULT_TRANSPORT: Transport = Transport::Tcp;
const DEFAULT_CONCURRENCY: Concurrency = Concurrency::Threading;

pub(crate) fn validate(config: Config, errors: &mut Errors) -> Model {
    let transport = available(
        config.transport.as_ref(),
        "transport",
        AVAILABLE_TRANSPORTS,
        Transport::name,
        DEFAULT_TRANSPORT,
        errors,
    );
    let concurrency = available(
        config.concurrency.as_ref(),
        "concurrency",
        AVAILABLE_CONCURRENCY,
        Concurrency::name,
        DEFAULT_CONCURRENCY,
        errors,
    );
    // What the user asked for, even where it is not available: an option is
    // judged against the mode it was written for.
    let asked_transport = config.transport.as_ref().map_or(transport, |s| s.value);
    let asked_concurrency = config.concurrency.as_ref().map_or(concurrency, |s| s.value);

    use Concurrency as C;
    use Transport as T;
    let by_transport: [(&str, Option<Span>, &[Transport]); 5] = [
        ("backlog", key(&config.backlog), &[T::Tcp, T::Unix]),
        (
            "reuse_address",
            key(&config.reuse_address),
            &[T::Tcp, T::Udp],
        ),
        ("reuse_port", key(&config.reuse_port), &[T::Tcp, T::Udp]),
        ("nodelay", key(&config.nodelay), &[T::Tcp]),
        (
            "max_packet_size",
            key(&config.max_packet_size),
            &[T::Udp, T::UnixDatagram],
        ),
    ];
    for (name, span, applies) in by_transport {
        if let Some(span) = span
            && !applies.contains(&asked_transport)
        {
            let modes: Vec<_> = applies.iter().map(|t| t.name()).collect();
            errors.add(
                span,
                format!(
                    "`{name}` does not apply to `transport = \"{}\"`; it applies to {}",
                    asked_transport.name(),
                    settings("transport", &modes),
                ),
            );
        }
    }
    let by_concurrency: [(&str, Option<Span>, &[Concurrency]); 5] = [
        (
            "daemon_threads",
            key(&config.daemon_threads),
            &[C::Threading],
        ),
        (
            "block_on_close",
            key(&config.block_on_close),
            &[C::Threading],
        ),
        ("workers", key(&config.workers), &[C::Pool, C::Event]),
        ("queue", key(&config.queue), &[C::Pool]),
        ("max_children", key(&config.max_children), &[C::Forking]),
    ];
    for (name, span, applies) in by_concurrency {
        if let Some(span) = span
            && !applies.contains(&asked_concurrency)
        {
            let modes: Vec<_> = applies.iter().map(|c| c.name()).collect();
            errors.add(
                span,
                format!(
                    "`{name}` does not apply to `concurrency = \"{}\"`; it applies to {}",
                    asked_concurrency.name(),
                    settings("concurrency", &modes),
                ),
            );
        }
    }
    if let Some(span) = key(&config.max_connections) {
        errors.add(
            span,
            "`max_connections` is not supported yet by this version of socketserver",
        );
    }
    Model {
        transport,
        concurrency,
        config,
    }
}

fn key<T>(setting: &Option<Setting<T>>) -> Option<Span> {
    setting.as_ref().map(|s| s.key)
}

/// `` `key = "a"` or `key = "b"` ``, as the settings would be written.
fn settings(key: &str, names: &[&str]) -> String {
    join(names.iter().map(|n| format!("`{key} = \"{n}\"`")).collect())
}

/// The chosen value if this version has it; otherwise an error on the value
/// and the default, so that expansion can go on.
fn available<T: Copy + PartialEq>(
    setting: Option<&Setting<T>>,
    key: &str,
    available: &[T],
    name: fn(T) -> &'static str,
    default: T,
    errors: &mut Errors,
) -> T {
    let Some(setting) = setting else {
        return default;
    };
    if available.contains(&setting.value) {
        return setting.value;
    }
    let names: Vec<_> = available.iter().map(|v| name(*v)).collect();
    errors.add(
        setting.span,
        format!(
            "{key} `{}` is not available yet in this version of socketserver; use {}",
            name(setting.value),
            settings(key, &names),
        ),
    );
    default
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attr::parse;
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
    fn modes_this_version_lacks_are_named_as_such() {
        assert_eq!(
            errors_of(quote! { transport = "udp" }),
            [
                "transport `udp` is not available yet in this version of socketserver; use `transport = \"tcp\"`"
            ]
        );
        assert_eq!(
            errors_of(quote! { concurrency = "pool", workers = 4 }),
            [
                "concurrency `pool` is not available yet in this version of socketserver; use `concurrency = \"sync\"` or `concurrency = \"threading\"`"
            ]
        );
    }

    #[test]
    fn an_option_of_another_transport_is_refused() {
        assert_eq!(
            errors_of(quote! { transport = "udp", nodelay = true }),
            [
                "transport `udp` is not available yet in this version of socketserver; use `transport = \"tcp\"`",
                "`nodelay` does not apply to `transport = \"udp\"`; it applies to `transport = \"tcp\"`",
            ]
        );
    }
}
