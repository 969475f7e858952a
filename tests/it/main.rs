//! Integration tests against the real `tavolo-server` binary.

mod api;
mod authority;
mod cluster;
mod crash;
mod facilitation;
mod faults;
mod helpers;
mod hostile;
mod interop;
mod lifecycle;
mod operations;
mod postgres;
mod privacy;
mod report;
mod rules;
mod samod;
mod storage;
mod sync;
mod templates;
