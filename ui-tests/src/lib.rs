//! Nothing here: the tests are `tests/ui.rs` with `pass/` and `fail/`.
