//! OKO on an Apache Ballista cluster: a scheduler and two executors as
//! child processes on loopback (`oko scheduler`, `oko executor`), over a
//! 100k-lead generated store. Every view and report function returns on
//! the cluster what the embedded engine returns; a tenant-bound user's
//! statements read only its tenant there too; an executor killed in the
//! middle of a statement fails it cleanly or it is retried, and the server
//! goes on.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::datatypes::{DataType, Float32Type, Float64Type};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::arrow::util::display::array_value_to_string;
use oko::cluster::{Cluster, Place};

use crate::common::*;
use crate::server::start;

/// A free loopback port (bound and released: the child binds it next).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Two free consecutive ports (an executor's Flight and task services).
fn free_pair() -> u16 {
    loop {
        let p = free_port();
        if p < u16::MAX && TcpListener::bind(("127.0.0.1", p + 1)).is_ok() {
            return p;
        }
    }
}

fn wait_for_port(port: u16, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "{what} did not start on {port}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A child process killed when dropped.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A scheduler and `n` executors reading `store` (local folder), with
/// quick heartbeats so that a dead executor is noticed in seconds.
struct LocalCluster {
    url: String,
    _scheduler: Proc,
    executors: Vec<Proc>,
    /// The config and the executors' work folders (`work0`, `work1`, …).
    dir: tempfile::TempDir,
}

impl LocalCluster {
    /// The jobs whose files are in the executors' work folders.
    fn jobs_on_disk(&self) -> std::collections::BTreeSet<String> {
        let mut jobs = std::collections::BTreeSet::new();
        for entry in std::fs::read_dir(self.dir.path()).unwrap().flatten() {
            if !entry.file_name().to_string_lossy().starts_with("work") {
                continue;
            }
            for job in std::fs::read_dir(entry.path())
                .into_iter()
                .flatten()
                .flatten()
            {
                if job.path().is_dir() {
                    jobs.insert(job.file_name().to_string_lossy().into_owned());
                }
            }
        }
        jobs
    }
}

fn cluster_config(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("cluster.toml");
    std::fs::write(
        &path,
        "[cluster]\nexecutor_timeout_s = 6\nheartbeat_s = 1\nexecutor_slots = 2\nmin_scan_mb = 0\n",
    )
    .unwrap();
    path
}

fn start_cluster(store: &str, env: &[(&str, &str)], executors: usize) -> LocalCluster {
    let dir = tempfile::tempdir().unwrap();
    let config = cluster_config(dir.path());
    let port = free_port();
    let scheduler = oko()
        .args(["--config", &config.display().to_string()])
        .args(["--store", store])
        .envs(env.iter().copied())
        .args(["scheduler", "--listen", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    wait_for_port(port, "the scheduler");
    let url = format!("df://127.0.0.1:{port}");
    let executors = (0..executors)
        .map(|i| {
            let flight = free_pair();
            let work = dir.path().join(format!("work{i}"));
            let child = oko()
                .args(["--config", &config.display().to_string()])
                .args(["--store", store])
                .envs(env.iter().copied())
                .args(["executor", "--scheduler", &url])
                .args(["--listen", &format!("127.0.0.1:{flight}")])
                .args(["--work-dir", &work.display().to_string()])
                .stdout(Stdio::null())
                .spawn()
                .unwrap();
            wait_for_port(flight, "an executor");
            Proc(child)
        })
        .collect();
    LocalCluster {
        url,
        _scheduler: Proc(scheduler),
        executors,
        dir,
    }
}

fn cell(a: &dyn Array, row: usize) -> String {
    if a.is_null(row) {
        return "NULL".into();
    }
    match a.data_type() {
        DataType::Float64 => format!("{:.9e}", a.as_primitive::<Float64Type>().value(row)),
        DataType::Float32 => format!("{:.5e}", a.as_primitive::<Float32Type>().value(row)),
        _ => array_value_to_string(a, row).unwrap(),
    }
}

/// The rows as text, sorted (the cluster returns them in another order
/// unless the statement orders them); floats to 10 significant digits
/// (the cluster sums in another order).
fn rows(batches: &[RecordBatch]) -> Vec<String> {
    let mut out: Vec<String> = batches
        .iter()
        .flat_map(|b| {
            (0..b.num_rows()).map(move |r| {
                b.columns()
                    .iter()
                    .map(|c| cell(c.as_ref(), r))
                    .collect::<Vec<_>>()
                    .join("|")
            })
        })
        .collect();
    out.sort();
    out
}

/// Every statement a user can read a report with: each view, each report
/// function over a year.
async fn report_statements(ctx: &datafusion::prelude::SessionContext) -> Vec<String> {
    let views = ctx
        .sql(
            "SELECT table_name FROM information_schema.tables \
             WHERE table_type = 'VIEW' AND table_schema = 'public' ORDER BY table_name",
        )
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    let mut out: Vec<String> = rows(&views)
        .into_iter()
        .map(|v| format!("SELECT * FROM {v}"))
        .collect();
    for f in oko::engine::table_functions::period_reports() {
        out.push(format!("SELECT * FROM {f}('2025-01-01', '2026-01-01')"));
    }
    out.push("SELECT * FROM survey_due('2025-06-01 12:00:00')".into());
    out
}

/// Every report statement ([`report_statements`]) returns the same rows
/// here and on `cluster`, and most of them ran there.
async fn same_rows_here_and_there(ctx: &datafusion::prelude::SessionContext, cluster: &Cluster) {
    let statements = report_statements(ctx).await;
    assert!(statements.len() > 25, "{statements:?}");
    let mut on_cluster = 0;
    for sql in &statements {
        let here = ctx.sql(sql).await.unwrap().collect().await.unwrap();
        let (stream, place) = cluster
            .stream(ctx.sql(sql).await.unwrap())
            .await
            .unwrap_or_else(|e| panic!("{sql} on the cluster: {e}"));
        let there = datafusion::physical_plan::common::collect(stream)
            .await
            .unwrap_or_else(|e| panic!("{sql} on the cluster: {e}"));
        assert_eq!(rows(&here), rows(&there), "{sql} ({place})");
        if matches!(place, Place::Cluster { .. }) {
            on_cluster += 1;
        }
    }
    // Views over the kept tables only (no stored files) run here.
    assert!(
        on_cluster * 4 >= statements.len() * 3,
        "only {on_cluster} of {} ran on the cluster",
        statements.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reports_on_a_cluster_equal_the_embedded_engine() {
    let dir = tempfile::tempdir().unwrap();
    let store = crate::slt::generated_store(dir.path(), 100_000, 5).await;
    let store_dir = dir.path().join("store");
    let local = start_cluster(&store_dir.display().to_string(), &[], 2);
    let cluster = Cluster::new(&local.url, 0).unwrap();
    let ctx = oko::live::session(&store, &Default::default())
        .await
        .unwrap();

    same_rows_here_and_there(&ctx, &cluster).await;

    // Small statements stay here: `SELECT 1`, and everything under the
    // threshold.
    let small = Cluster::new(&local.url, 1024).unwrap();
    let (_, place) = small
        .stream(ctx.sql("SELECT count(*) FROM leads").await.unwrap())
        .await
        .unwrap();
    assert!(matches!(place, Place::Here(_)), "{place}");
    let (_, place) = cluster
        .stream(ctx.sql("SELECT 1").await.unwrap())
        .await
        .unwrap();
    assert!(matches!(place, Place::Here(_)), "{place}");

    // A statement whose rows fail on the executors gets its own error, not
    // advice about a cluster that is up.
    let (stream, place) = cluster
        .stream(
            ctx.sql("SELECT CAST(channel AS INT) FROM leads")
                .await
                .unwrap(),
        )
        .await
        .unwrap();
    assert!(matches!(place, Place::Cluster { .. }), "{place}");
    let e = datafusion::physical_plan::common::collect(stream)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("the statement failed on the cluster")
            && e.to_lowercase().contains("cast")
            && !e.contains("check that the scheduler"),
        "{e}"
    );
    // One that cannot reach it says what to check.
    let nowhere = Cluster::new(&format!("df://127.0.0.1:{}", free_port()), 0).unwrap();
    let e = match nowhere
        .stream(
            ctx.sql("SELECT channel, count(*) FROM leads GROUP BY channel")
                .await
                .unwrap(),
        )
        .await
    {
        Ok(_) => panic!("a cluster nobody listens for ran a statement"),
        Err(e) => e.to_string(),
    };
    assert!(
        e.contains("failed the statement") && e.contains("check that the scheduler"),
        "{e}"
    );

    a_tenant_plan_lists_only_its_tenant_files(&store).await;

    // `oko query --cluster` says where it ran.
    let out = run(
        &store_dir.display().to_string(),
        &[
            "query",
            "--cluster",
            &local.url,
            "--format",
            "csv",
            "SELECT tenant, count(*) AS n FROM leads GROUP BY tenant ORDER BY tenant",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text.lines().count(), 4, "{text}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("ran here"),
        "a 100k store is under the default min_scan_mb"
    );
}

/// `oko serve` with `[cluster] scheduler`: a tenant-bound user sees only its
/// tenant through the cluster; an executor killed during a statement fails
/// it with an error or the statement is retried — and the server and the
/// cluster answer the next ones; a cancelled statement cancels its job.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_server_on_a_cluster_keeps_tenants_apart_and_survives_a_dead_executor() {
    let dir = tempfile::tempdir().unwrap();
    crate::slt::generated_store(dir.path(), 100_000, 5).await;
    let store_dir = dir.path().join("store");
    let mut local = start_cluster(&store_dir.display().to_string(), &[], 2);
    let config = users_config(
        dir.path(),
        &format!(
            "[cluster]\nscheduler = \"{}\"\nmin_scan_mb = 0\n",
            local.url
        ),
        &[
            ("admin", "admin", None),
            ("okna_viewer", "viewer", Some("okna")),
        ],
    );
    let server = start(&[
        "--store",
        &store_dir.display().to_string(),
        "--config",
        &config.display().to_string(),
    ]);
    let admin = login_as(server.port, "admin").await;
    let okna = login_as(server.port, "okna_viewer").await;
    one(&admin, "SET oko.result_cache = off").await;
    one(&okna, "SET oko.result_cache = off").await;

    let tenants = one(&okna, "SELECT DISTINCT tenant FROM leads ORDER BY 1").await;
    assert_eq!(tenants, ["okna"]);
    let all = one(
        &admin,
        "SELECT tenant, count(*) FROM leads GROUP BY 1 ORDER BY 1",
    )
    .await;
    assert_eq!(all.len(), 6, "{all:?}");
    let mine = one(&okna, "SELECT tenant, count(*) FROM leads GROUP BY 1").await;
    let at = all.iter().position(|t| t == "okna").unwrap();
    assert_eq!(mine, all[at..at + 2].to_vec());
    let report = "SELECT tenant, manager, leads, avg_score FROM manager_report('2025-01-01', '2026-01-01') ORDER BY 1, 2";
    let theirs = one(&okna, report).await;
    assert!(!theirs.is_empty());
    assert!(theirs.chunks(4).all(|r| r[0] == "okna"), "{theirs:?}");

    // A statement long enough to be running when an executor dies.
    let heavy = "SELECT count(*) FROM leads a JOIN leads b ON a.tenant = b.tenant AND a.manager_id = b.manager_id AND a.channel = b.channel";
    let expected = one(&admin, heavy).await;
    let running = {
        let admin = login_as(server.port, "admin").await;
        one(&admin, "SET oko.result_cache = off").await;
        one(&admin, "SET statement_timeout = '30s'").await;
        tokio::spawn(async move { text_values(&admin, heavy).await })
    };
    tokio::time::sleep(Duration::from_millis(700)).await;
    let victim = local.executors.remove(0);
    drop(victim);
    match running.await.unwrap() {
        Ok(values) => assert_eq!(values, expected, "retried to the same answer"),
        Err(e) => {
            let text = e.to_string();
            assert!(!text.is_empty(), "an error that says something");
        }
    }
    // The server answers at once, and the cluster runs the next statements
    // on the executor left (with push scheduling, Ballista 55 lost the task
    // slots of the stage it rolled back, and every later job waited for
    // good: see `SCHEDULING` in src/cluster/processes.rs); a statement sent
    // to it ends within its statement timeout.
    assert_eq!(one(&admin, "SELECT 1").await, ["1"]);
    assert_eq!(
        one(&okna, "SELECT DISTINCT tenant FROM leads").await,
        ["okna"]
    );
    one(&admin, "SET statement_timeout = '20s'").await;
    let started = std::time::Instant::now();
    match text_values(&admin, heavy).await {
        Ok(values) => assert_eq!(values, expected),
        Err(e) => assert!(!e.to_string().is_empty(), "an error that says something"),
    }
    assert!(
        started.elapsed() < Duration::from_secs(40),
        "a statement on the cluster outlived its timeout: {:?}",
        started.elapsed()
    );
    assert_eq!(one(&admin, "SELECT 1").await, ["1"]);

    // A statement cancelled while its job runs cancels the job on the
    // scheduler: no stage of it starts after that, and its slots go to the
    // statements that come next.
    let before = local.jobs_on_disk();
    let (running, cancel) = {
        let admin = login_as(server.port, "admin").await;
        one(&admin, "SET oko.result_cache = off").await;
        let cancel = admin.cancel_token();
        (
            tokio::spawn(async move { text_values(&admin, heavy).await }),
            cancel,
        )
    };
    let started = Instant::now();
    let job = loop {
        let new: Vec<String> = local.jobs_on_disk().difference(&before).cloned().collect();
        if let Some(job) = new.into_iter().next() {
            break job;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the statement's job never wrote a file"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    cancel.cancel_query(tokio_postgres::NoTls).await.unwrap();
    match running.await.unwrap() {
        Err(e) => assert_eq!(
            e.code(),
            Some(&tokio_postgres::error::SqlState::QUERY_CANCELED),
            "{e:?}"
        ),
        // It ended before the cancel request came.
        Ok(values) => assert_eq!(values, expected),
    }
    let cancelled = Instant::now();
    loop {
        let status = job_status(&local.url, &job).await;
        if status.contains("Failed") && status.contains("Cancelled") {
            break;
        }
        assert!(
            !status.contains("Successful") && cancelled.elapsed() < Duration::from_secs(30),
            "job {job} was not cancelled with its statement: {status}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        text_values(
            &admin,
            "SELECT tenant, count(*) FROM leads GROUP BY 1 ORDER BY 1"
        )
        .await
        .unwrap(),
        all
    );
    server.stop();
}

/// The scheduler's word on job `job` (`df://HOST:PORT` is the scheduler).
async fn job_status(scheduler: &str, job: &str) -> String {
    use ballista_core::serde::protobuf::GetJobStatusParams;
    use ballista_core::serde::protobuf::scheduler_grpc_client::SchedulerGrpcClient;
    let url = scheduler.replace("df://", "http://");
    let mut client = SchedulerGrpcClient::connect(url).await.unwrap();
    let status = client
        .get_job_status(GetJobStatusParams {
            job_id: job.to_string(),
        })
        .await
        .unwrap()
        .into_inner()
        .status;
    format!("{status:?}")
}

async fn one(c: &tokio_postgres::Client, sql: &str) -> Vec<String> {
    text_values(c, sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e:?}"))
}

/// The files the plain scans of `plan` read.
fn scanned_files(
    plan: &std::sync::Arc<dyn datafusion::physical_plan::ExecutionPlan>,
) -> Vec<String> {
    use datafusion::datasource::physical_plan::FileScanConfig;
    use datafusion::datasource::source::DataSourceExec;
    let mut out = Vec::new();
    let mut todo = vec![plan.clone()];
    while let Some(node) = todo.pop() {
        if let Some(config) = node
            .downcast_ref::<DataSourceExec>()
            .and_then(|s| s.data_source().downcast_ref::<FileScanConfig>())
        {
            for group in &config.file_groups {
                out.extend(group.iter().map(|f| f.object_meta.location.to_string()));
            }
        }
        todo.extend(node.children().into_iter().cloned());
    }
    out
}

/// A tenant-bound session's plan for the cluster names only its tenant's
/// files, and counts what the embedded engine counts for it.
async fn a_tenant_plan_lists_only_its_tenant_files(store: &oko::store::Store) {
    use oko::live::table::LiveTable;
    use oko::live::tenant::TenantTable;
    use oko::model::Table;
    use std::sync::Arc;
    let delta = store.table(Table::Leads).await.unwrap().unwrap();
    let live = LiveTable::new(Table::Leads, delta).await.unwrap();
    let sql = "SELECT count(*) FROM leads WHERE channel <> 'email'";
    let mut counts = Vec::new();
    for plain in [true, false] {
        let mut config = datafusion::prelude::SessionConfig::new();
        if plain {
            config = config.with_extension(Arc::new(oko::engine::PlainScans));
        }
        let ctx = datafusion::prelude::SessionContext::new_with_config(config);
        ctx.register_table(
            "leads",
            Arc::new(TenantTable::new(live.clone(), "okna").unwrap()),
        )
        .unwrap();
        let df = ctx.sql(sql).await.unwrap();
        if plain {
            let plan = df.clone().create_physical_plan().await.unwrap();
            let files = scanned_files(&plan);
            assert!(!files.is_empty());
            assert!(
                files.iter().all(|f| f.contains("/leads/tenant=okna/")),
                "{files:?}"
            );
        }
        counts.push(rows(&df.collect().await.unwrap()));
    }
    assert_eq!(counts[0], counts[1]);
    // Every tenant's files, without the binding.
    let ctx = datafusion::prelude::SessionContext::new_with_config(
        datafusion::prelude::SessionConfig::new().with_extension(Arc::new(oko::engine::PlainScans)),
    );
    ctx.register_table("leads", live).unwrap();
    let plan = ctx
        .sql(sql)
        .await
        .unwrap()
        .create_physical_plan()
        .await
        .unwrap();
    let files = scanned_files(&plan);
    assert!(
        files.iter().any(|f| !f.contains("tenant=okna/")),
        "{files:?}"
    );
}

/// The executors read a store on an S3-compatible server (moto on
/// loopback) with the `OKO_S3_*` settings, as `oko serve` reads it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_cluster_reads_a_store_on_s3() {
    let Some(moto) = crate::s3::start_moto() else {
        return;
    };
    crate::s3::create_bucket(moto.port, "oko-cluster");
    let dir = tempfile::tempdir().unwrap();
    let exports = dir.path().join("exports");
    ok(
        "unused",
        &[
            "generate",
            "--out",
            &exports.display().to_string(),
            "--leads",
            "20000",
            "--seed",
            "3",
        ],
    );
    let url = "s3://oko-cluster/data";
    let endpoint = format!("http://127.0.0.1:{}", moto.port);
    let env = [
        ("OKO_S3_ENDPOINT", endpoint.as_str()),
        ("OKO_S3_REGION", "us-east-1"),
        ("OKO_S3_ACCESS_KEY_ID", "test"),
        ("OKO_S3_SECRET_ACCESS_KEY", "test"),
        ("OKO_S3_ALLOW_HTTP", "true"),
    ];
    let mut load = oko();
    load.args(["--store", url, "load"]).envs(env);
    for entry in std::fs::read_dir(&exports).unwrap() {
        load.arg(entry.unwrap().path());
    }
    let out = load.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let store = oko::store::Store::open(&oko::config::StoreConfig {
        url: url.into(),
        s3_endpoint: Some(endpoint.clone()),
        s3_region: Some("us-east-1".into()),
        s3_access_key_id: Some("test".into()),
        s3_secret_access_key: Some("test".into()),
        s3_allow_http: Some(true),
    })
    .unwrap();
    let local = start_cluster(url, &env, 2);
    let cluster = Cluster::new(&local.url, 0).unwrap();
    let ctx = oko::live::session(&store, &Default::default())
        .await
        .unwrap();
    same_rows_here_and_there(&ctx, &cluster).await;
}
