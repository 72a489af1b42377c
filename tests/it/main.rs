//! OKO's integration tests: one binary, one module per capability.
//! Each test drives the real `oko` binary against a real store in a
//! temporary folder (or a real S3-compatible server on loopback).

mod common;

mod bad_input;
mod callibri;
mod clients_java;
mod clients_python;
mod cluster;
mod copy_out;
mod corrections;
mod crash;
mod crosscheck;
mod dashboard;
mod deletes;
mod deliver;
mod differential;
mod hostile;
mod lifecycle;
mod logins;
mod notify;
mod parts;
mod postgres;
mod psql_describe;
mod replicas;
mod roundtrip;
mod s3;
mod security;
mod server;
mod slt;
mod speed;
mod sql_fuzz;
mod trust;
