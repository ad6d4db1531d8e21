//! `#[server]` on a function: it goes on a struct.

use socketserver::server;

#[server]
fn echo() {}

fn main() {
    echo();
}
