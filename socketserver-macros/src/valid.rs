//! Checks that need several keys at once: whether the chosen transport and
//! concurrency exist in this version, and whether each option applies to them.
//! The result is the [`Model`] that `expand.rs` turns into code.

use crate::attr::{Concurrency, Config, Errors, Setting, Transport, join};

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

/// Keys whose feature the runtime does not have yet, whatever the mode.
const UNSUPPORTED: &[&str] = &["max_connections"];

/// The transports an option applies to; `None`: all of them.
fn transports_of(key: &str) -> Option<&'static [Transport]> {
    use Transport::*;
    Some(match key {
        "backlog" => &[Tcp, Unix],
        "reuse_address" | "reuse_port" => &[Tcp, Udp],
        "nodelay" => &[Tcp],
        "max_packet_size" => &[Udp, UnixDatagram],
        "max_connections" => &[Tcp, Unix],
        _ => return None,
    })
}

/// The concurrency models an option applies to; `None`: all of them.
fn concurrency_of(key: &str) -> Option<&'static [Concurrency]> {
    use Concurrency::*;
    Some(match key {
        "daemon_threads" | "block_on_close" => &[Threading],
        "workers" => &[Pool, Event],
        "queue" => &[Pool],
        "max_children" => &[Forking],
        _ => return None,
    })
}

/// Whether option `key` applies to this transport and concurrency model.
pub(crate) fn applies(key: &str, transport: Transport, concurrency: Concurrency) -> bool {
    transports_of(key).is_none_or(|t| t.contains(&transport))
        && concurrency_of(key).is_none_or(|c| c.contains(&concurrency))
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

    for &(name, span) in &config.written {
        if let Some(applies) = transports_of(name)
            && !applies.contains(&asked_transport)
        {
            let modes: Vec<_> = applies.iter().map(|t| t.name()).collect();
            errors.add(
                span,
                not_for(name, "transport", asked_transport.name(), &modes),
            );
        }
        if let Some(applies) = concurrency_of(name)
            && !applies.contains(&asked_concurrency)
        {
            let modes: Vec<_> = applies.iter().map(|c| c.name()).collect();
            errors.add(
                span,
                not_for(name, "concurrency", asked_concurrency.name(), &modes),
            );
        }
        if UNSUPPORTED.contains(&name) {
            errors.add(
                span,
                format!("`{name}` is not supported yet by this version of socketserver"),
            );
        }
    }
    Model {
        transport,
        concurrency,
        config,
    }
}

/// Option `name` does not apply to `key = "asked"`, only to `modes`.
fn not_for(name: &str, key: &str, asked: &str, modes: &[&str]) -> String {
    format!(
        "`{name}` does not apply to `{key} = \"{asked}\"`; it applies to {}",
        settings(key, modes)
    )
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
                "transport `udp` is not available yet in this version of socketserver; use `transport = \"tcp\"`",
                "`nodelay` does not apply to `transport = \"udp\"`; it applies to `transport = \"tcp\"`",
            ]
        );
    }
}
