//! `#[server]` on an enum: it goes on a struct.

use socketserver::server;

#[server]
enum Echo {
    Loud,
    Quiet,
}

fn main() {
    let _ = [Echo::Loud, Echo::Quiet];
}
