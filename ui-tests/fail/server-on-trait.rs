//! `#[server]` on a trait: it goes on a struct.

use socketserver::server;

#[server]
trait Echo {}

fn main() {}
