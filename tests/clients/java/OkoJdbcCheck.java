// pgjdbc (Java's PostgreSQL driver) against `oko serve --demo`, driven the way
// Metabase and DBeaver drive it.
//
//     tests/clients/java/run.sh HOST PORT [CHECK...]
//
// Every check runs on its own connection(s), so one failure cannot hide the
// next. Each prints `PASS <check>` or `FAIL <check>: <what went wrong>` with
// the driver's exception (SQLSTATE and the server's message) and the last
// SQL the check sent; the program exits 1 when any check failed. The
// expectations are PostgreSQL's behaviour, never OKO's current one.
//
// OKO_JDBC_TRACE=1 logs every protocol message pgjdbc sends (FE=>) and
// receives (<=BE) to stderr. OKO_CHECK_TIMEOUT (seconds, default 120) bounds
// one check.

import java.sql.Array;
import java.sql.Connection;
import java.sql.DatabaseMetaData;
import java.sql.Date;
import java.sql.DriverManager;
import java.sql.ParameterMetaData;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Timestamp;
import java.sql.Types;
import java.time.DayOfWeek;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.LocalTime;
import java.time.OffsetDateTime;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.logging.ConsoleHandler;
import java.util.logging.Level;
import java.util.logging.Logger;

public final class OkoJdbcCheck {

    // ---------------------------------------------------------------- demo data

    /** `oko serve --demo`: 12 000 leads in three tenants from 2026-06-01 over 120 days. */
    static final long DEMO_LEADS = 12000;
    static final String[] TABLES = {"tenants", "managers", "leads", "rating_requests", "ratings",
        "rating_moderations", "lead_notes", "manual_stats"};
    static final String[] VIEWS = {"manager_report_month", "lead_facts", "cc_daily", "ratings_effective",
        "cc_tags"};
    /** July 2026 in UTC: a month inside the demo period. */
    static final OffsetDateTime JULY = OffsetDateTime.of(2026, 7, 1, 0, 0, 0, 0, ZoneOffset.UTC);
    static final String JULY_LITERAL = "'2026-07-01T00:00:00Z'";

    /** The comment Metabase puts before every query it runs (`inject-remark`). */
    static final String REMARK = "-- Metabase:: userID: 1 queryType: native queryHash: abc\n";

    // ---------------------------------------------------------------- the runner

    static String url;
    /** The last SQL a check sent through the helpers below (printed on failure). */
    static volatile String lastSql = "";

    interface Body {
        void run() throws Exception;
    }

    record Check(String name, Body body) {
    }

    static final List<Check> CHECKS = new ArrayList<>();

    static void check(String name, Body body) {
        CHECKS.add(new Check(name, body));
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 2) {
            System.err.println("usage: OkoJdbcCheck HOST PORT [CHECK...]");
            System.exit(2);
        }
        url = "jdbc:postgresql://" + args[0] + ":" + args[1] + "/oko";
        if (System.getenv("OKO_JDBC_TRACE") != null) {
            Logger pg = Logger.getLogger("org.postgresql");
            pg.setLevel(Level.FINEST);
            ConsoleHandler h = new ConsoleHandler();
            h.setLevel(Level.FINEST);
            pg.addHandler(h);
        }
        long timeout = Long.parseLong(Objects.requireNonNullElse(System.getenv("OKO_CHECK_TIMEOUT"), "120"));
        registerChecks();

        Set<String> only = new HashSet<>(Arrays.asList(args).subList(2, args.length));
        Set<String> known = new HashSet<>();
        CHECKS.forEach(c -> known.add(c.name()));
        for (String o : only) {
            if (!known.contains(o)) {
                System.out.println("unknown check: " + o + "; the checks are " + known);
                System.exit(2);
            }
        }
        List<Check> chosen = CHECKS.stream().filter(c -> only.isEmpty() || only.contains(c.name())).toList();
        System.out.println("pgjdbc " + org.postgresql.util.DriverInfo.DRIVER_VERSION + " (Java "
            + System.getProperty("java.version") + ", JVM time zone " + ZoneId.systemDefault() + "): "
            + chosen.size() + " checks against " + url);
        List<String> failed = new ArrayList<>();
        for (Check c : chosen) {
            lastSql = "";
            long started = System.nanoTime();
            ExecutorService ex = Executors.newSingleThreadExecutor(r -> {
                Thread t = new Thread(r, c.name());
                t.setDaemon(true);
                return t;
            });
            Future<?> f = ex.submit(() -> {
                c.body().run();
                return null;
            });
            Throwable error = null;
            try {
                f.get(timeout, TimeUnit.SECONDS);
            } catch (TimeoutException e) {
                f.cancel(true);
                error = new AssertionError("did not finish within " + timeout + " s (OKO_CHECK_TIMEOUT)");
            } catch (java.util.concurrent.ExecutionException e) {
                error = e.getCause();
            }
            ex.shutdownNow();
            double secs = (System.nanoTime() - started) / 1e9;
            if (error == null) {
                System.out.printf(Locale.ROOT, "PASS %s (%.2fs)%n", c.name(), secs);
            } else {
                failed.add(c.name());
                System.out.println("FAIL " + c.name() + ": " + describe(error));
                if (!lastSql.isEmpty()) {
                    System.out.println("     last SQL: " + oneLine(lastSql));
                }
                List<String> frames = new ArrayList<>();
                for (StackTraceElement el : error.getStackTrace()) {
                    if (el.getClassName().startsWith("OkoJdbcCheck") && !el.getMethodName().startsWith("lambda$main")) {
                        frames.add(el.getMethodName().replaceAll("^lambda\\$registerChecks\\$\\d+$", c.name())
                            + ":" + el.getLineNumber());
                    }
                }
                if (!frames.isEmpty()) {
                    System.out.println("     at OkoJdbcCheck.java " + String.join(" < ", frames));
                }
            }
            System.out.flush();
        }
        int passed = chosen.size() - failed.size();
        System.out.println("pgjdbc summary: " + passed + " of " + chosen.size() + " checks passed");
        if (!failed.isEmpty()) {
            System.out.println("pgjdbc failed checks: " + String.join(" ", failed));
        }
        System.exit(failed.isEmpty() && !chosen.isEmpty() ? 0 : 1);
    }

    static String describe(Throwable e) {
        StringBuilder s = new StringBuilder();
        if (e instanceof SQLException se) {
            s.append("SQLState ").append(se.getSQLState()).append(": ");
        }
        s.append(e.getClass().getName()).append(": ").append(oneLine(String.valueOf(e.getMessage())));
        for (Throwable c = e.getCause(); c != null && c != e; c = c.getCause()) {
            s.append(" / caused by ").append(c.getClass().getName()).append(": ")
                .append(oneLine(String.valueOf(c.getMessage())));
        }
        return s.toString();
    }

    static String oneLine(String s) {
        String t = s.replaceAll("\\s+", " ").trim();
        return t.length() > 600 ? t.substring(0, 600) + " …" : t;
    }

    // ---------------------------------------------------------------- helpers

    static Connection connect(String... props) throws SQLException {
        Properties p = new Properties();
        p.setProperty("user", "oko");
        p.setProperty("connectTimeout", "10");
        p.setProperty("loginTimeout", "10");
        p.setProperty("socketTimeout", "90");
        for (String kv : props) {
            int eq = kv.indexOf('=');
            p.setProperty(kv.substring(0, eq), kv.substring(eq + 1));
        }
        lastSql = "(connect " + url + " " + Arrays.toString(props) + ")";
        return DriverManager.getConnection(url, p);
    }

    static final class Failed extends AssertionError {
        private static final long serialVersionUID = 1L;

        Failed(String what) {
            super(what);
        }
    }

    static void expect(boolean cond, String what) {
        if (!cond) {
            throw new Failed(what);
        }
    }

    static void expectEq(Object got, Object want, String what) {
        if (!Objects.equals(got, want)) {
            throw new Failed(what + ": expected " + show(want) + ", got " + show(got));
        }
    }

    static String show(Object o) {
        if (o instanceof String s) {
            return "\"" + s + "\"";
        }
        if (o instanceof Object[] a) {
            return Arrays.deepToString(a);
        }
        return o == null ? "null" : o + " (" + o.getClass().getSimpleName() + ")";
    }

    static ResultSet query(Statement st, String sql) throws SQLException {
        lastSql = sql;
        return st.executeQuery(sql);
    }

    static void exec(Connection c, String sql) throws SQLException {
        lastSql = sql;
        try (Statement st = c.createStatement()) {
            st.execute(sql);
        }
    }

    /** All rows of a query (with parameters through setObject), values by getObject. */
    static List<Map<String, Object>> rows(Connection c, String sql, Object... params) throws SQLException {
        lastSql = sql + (params.length > 0 ? "  -- params " + Arrays.toString(params) : "");
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            for (int i = 0; i < params.length; i++) {
                ps.setObject(i + 1, params[i]);
            }
            try (ResultSet rs = ps.executeQuery()) {
                return readAll(rs);
            }
        }
    }

    static List<Map<String, Object>> readAll(ResultSet rs) throws SQLException {
        ResultSetMetaData md = rs.getMetaData();
        List<Map<String, Object>> out = new ArrayList<>();
        while (rs.next()) {
            Map<String, Object> row = new LinkedHashMap<>();
            for (int i = 1; i <= md.getColumnCount(); i++) {
                row.put(md.getColumnLabel(i), rs.getObject(i));
            }
            out.add(row);
        }
        return out;
    }

    /** The one value of a one-row, one-column query, as text. */
    static String scalar(Connection c, String sql) throws SQLException {
        lastSql = sql;
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            expect(rs.next(), "no row from: " + sql);
            String v = rs.getString(1);
            expect(!rs.next(), "more than one row from: " + sql);
            return v;
        }
    }

    static long count(Connection c, String sql) throws SQLException {
        return Long.parseLong(scalar(c, sql));
    }

    /** Runs `sql` expecting an error with SQLSTATE `state`; returns it. */
    static SQLException expectError(Connection c, String sql, String state) throws SQLException {
        lastSql = sql;
        try (Statement st = c.createStatement()) {
            st.execute(sql);
        } catch (SQLException e) {
            expectEq(e.getSQLState(), state, "SQLSTATE of `" + sql + "` (" + oneLine(e.getMessage()) + ")");
            return e;
        }
        throw new Failed("`" + sql + "` did not fail");
    }

    /** The connection still answers (after an error). */
    static void stillWorks(Connection c) throws SQLException {
        expectEq(count(c, "SELECT count(*) FROM tenants"), 3L, "SELECT count(*) FROM tenants afterwards");
    }

    static Map<String, String> columnTypes(ResultSet cols) throws SQLException {
        Map<String, String> m = new LinkedHashMap<>();
        while (cols.next()) {
            m.put(cols.getString("COLUMN_NAME"), cols.getString("TYPE_NAME"));
        }
        return m;
    }

    /** The JDBC type pgjdbc reports for a PostgreSQL type name (Types.* or a set of acceptable ones). */
    static Set<Integer> jdbcTypes(String pgType) {
        return switch (pgType) {
            case "text", "varchar" -> Set.of(Types.VARCHAR);
            case "timestamptz" -> Set.of(Types.TIMESTAMP, Types.TIMESTAMP_WITH_TIMEZONE);
            case "timestamp" -> Set.of(Types.TIMESTAMP);
            case "date" -> Set.of(Types.DATE);
            case "float8" -> Set.of(Types.DOUBLE);
            case "bool" -> Set.of(Types.BIT, Types.BOOLEAN);
            case "int4" -> Set.of(Types.INTEGER);
            case "int8" -> Set.of(Types.BIGINT);
            case "_text" -> Set.of(Types.ARRAY);
            default -> Set.of();
        };
    }

    static long oidOfPublic(Connection c) throws SQLException {
        return Long.parseLong(scalar(c, "SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = 'public'"));
    }

    static long oidOfRelation(Connection c, String name) throws SQLException {
        return Long.parseLong(scalar(c, "SELECT c.oid FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n "
            + "ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relname = '" + name + "'"));
    }

    // ---------------------------------------------------------------- the checks

    static void registerChecks() {
        // ------------------------------------------------ connecting, as pgjdbc does it
        check("connect_startup_parameters", () -> {
            try (Connection c = connect()) {
                DatabaseMetaData md = c.getMetaData();
                expectEq(md.getDatabaseProductName(), "PostgreSQL", "getDatabaseProductName");
                expect(md.getDatabaseMajorVersion() >= 10,
                    "server_version is a modern PostgreSQL: " + md.getDatabaseProductVersion());
                // pgjdbc sends these itself right after the startup.
                expectEq(scalar(c, "SHOW extra_float_digits"), "3", "SHOW extra_float_digits");
                expectEq(scalar(c, "SHOW application_name"), "PostgreSQL JDBC Driver", "SHOW application_name");
                expectEq(scalar(c, "SELECT current_setting('application_name')"), "PostgreSQL JDBC Driver",
                    "current_setting('application_name')");
                // ... and these in the startup packet.
                expectEq(scalar(c, "SHOW client_encoding"), "UTF8", "SHOW client_encoding");
                expect(scalar(c, "SHOW DateStyle").startsWith("ISO"), "DateStyle starts with ISO");
                expectEq(scalar(c, "SHOW TimeZone"), ZoneId.systemDefault().getId(),
                    "SHOW TimeZone (pgjdbc sends the JVM's zone at startup)");
                expectEq(c.getCatalog(), "oko", "Connection.getCatalog (current_database())");
                expectEq(md.getUserName(), "oko", "DatabaseMetaData.getUserName");
                expectEq(count(c, "SELECT count(*) FROM leads"), DEMO_LEADS, "count(*) FROM leads");
            }
        });

        // ------------------------------------------------ Metabase: connection options
        check("metabase_transaction_isolation", () -> {
            try (Connection c = connect()) {
                expectEq(scalar(c, "SHOW TRANSACTION ISOLATION LEVEL"), "read committed",
                    "SHOW TRANSACTION ISOLATION LEVEL");
                // pgjdbc runs SHOW TRANSACTION ISOLATION LEVEL itself here.
                lastSql = "(Connection.getTransactionIsolation)";
                expectEq(c.getTransactionIsolation(), Connection.TRANSACTION_READ_COMMITTED,
                    "Connection.getTransactionIsolation");
                // Metabase's set-best-transaction-level!: SET SESSION CHARACTERISTICS AS TRANSACTION
                // ISOLATION LEVEL READ UNCOMMITTED.
                expect(c.getMetaData().supportsTransactionIsolationLevel(Connection.TRANSACTION_READ_UNCOMMITTED),
                    "supports READ UNCOMMITTED");
                lastSql = "(Connection.setTransactionIsolation(READ_UNCOMMITTED))";
                c.setTransactionIsolation(Connection.TRANSACTION_READ_UNCOMMITTED);
                expectEq(scalar(c, "SHOW TRANSACTION ISOLATION LEVEL"), "read uncommitted",
                    "SHOW TRANSACTION ISOLATION LEVEL after SET SESSION CHARACTERISTICS");
                expectEq(c.getTransactionIsolation(), Connection.TRANSACTION_READ_UNCOMMITTED,
                    "getTransactionIsolation after the change");
                exec(c, "SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL READ COMMITTED");
                expectEq(scalar(c, "SHOW transaction_isolation"), "read committed", "SHOW transaction_isolation");
            }
        });

        check("metabase_connection_options_and_question", () -> {
            // set-default-connection-options! for a read, then a native question with a remark, as
            // execute-reducible-query runs it (Statement, fetch size 500, max rows 2000).
            try (Connection c = connect("sslmode=disable")) {
                c.setTransactionIsolation(Connection.TRANSACTION_READ_UNCOMMITTED);
                c.setReadOnly(true);
                c.setAutoCommit(true);
                c.setHoldability(ResultSet.CLOSE_CURSORS_AT_COMMIT);
                try (Statement st = c.createStatement(ResultSet.TYPE_FORWARD_ONLY, ResultSet.CONCUR_READ_ONLY,
                    ResultSet.CLOSE_CURSORS_AT_COMMIT)) {
                    st.setFetchDirection(ResultSet.FETCH_FORWARD);
                    st.setFetchSize(500);
                    st.setMaxRows(2000);
                    String sql = REMARK + "SELECT tenant, count(*) AS \"count\" FROM leads GROUP BY tenant ORDER BY tenant";
                    lastSql = sql;
                    expect(st.execute(sql), "a native query gives a ResultSet");
                    try (ResultSet rs = st.getResultSet()) {
                        ResultSetMetaData md = rs.getMetaData();
                        expectEq(md.getColumnLabel(2), "count", "column label");
                        expectEq(md.getColumnTypeName(2), "int8", "count(*) is bigint");
                        long sum = 0;
                        int n = 0;
                        while (rs.next()) {
                            sum += rs.getLong(2);
                            n++;
                        }
                        expectEq(n, 3, "three tenants");
                        expectEq(sum, DEMO_LEADS, "leads per tenant add up");
                    }
                }
                stillWorks(c);
            }
        });

        check("metabase_read_only_transaction", () -> {
            // setReadOnly(true) + setAutoCommit(false): pgjdbc opens each transaction with BEGIN READ ONLY.
            try (Connection c = connect()) {
                c.setReadOnly(true);
                c.setAutoCommit(false);
                expect(c.isReadOnly(), "isReadOnly");
                expectEq(scalar(c, "SHOW transaction_read_only"), "on", "SHOW transaction_read_only inside BEGIN READ ONLY");
                try (Statement st = c.createStatement()) {
                    st.setFetchSize(500);
                    try (ResultSet rs = query(st, REMARK + "SELECT lead_id, created_at FROM leads ORDER BY lead_id LIMIT 1200")) {
                        int n = 0;
                        while (rs.next()) {
                            n++;
                        }
                        expectEq(n, 1200, "rows through a portal fetched 500 at a time");
                    }
                }
                lastSql = "COMMIT";
                c.commit();
                expectEq(count(c, REMARK + "SELECT count(*) FROM leads"), DEMO_LEADS, "a query in the next transaction");
                lastSql = "ROLLBACK";
                c.rollback();
                c.setAutoCommit(true);
                c.setReadOnly(false);
                expectEq(scalar(c, "SHOW transaction_read_only"), "off", "SHOW transaction_read_only after the transactions");
            }
        });

        check("metabase_read_only_session", () -> {
            // readOnlyMode=always: SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY / READ WRITE.
            try (Connection c = connect("readOnlyMode=always")) {
                lastSql = "(setReadOnly(true): SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY)";
                c.setReadOnly(true);
                expectEq(scalar(c, "SHOW transaction_read_only"), "on", "SHOW transaction_read_only after READ ONLY");
                expectEq(scalar(c, "SHOW default_transaction_read_only"), "on", "SHOW default_transaction_read_only");
                expectEq(count(c, "SELECT count(*) FROM tenants"), 3L, "a query in a read-only session");
                lastSql = "(setReadOnly(false): SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE)";
                c.setReadOnly(false);
                expectEq(scalar(c, "SHOW transaction_read_only"), "off", "SHOW transaction_read_only after READ WRITE");
            }
        });

        check("metabase_report_timezone", () -> {
            // set-time-zone-if-supported!: SET SESSION TIMEZONE TO '<report zone>'; and
            // db-default-timezone: `show timezone;` through a PreparedStatement.
            try (Connection c = connect()) {
                c.setReadOnly(false);
                exec(c, "SET SESSION TIMEZONE TO 'Asia/Yekaterinburg';");
                lastSql = "show timezone;";
                try (PreparedStatement ps = c.prepareStatement("show timezone;"); ResultSet rs = ps.executeQuery()) {
                    expect(rs.next(), "show timezone; gives a row");
                    expectEq(rs.getString(1), "Asia/Yekaterinburg", "show timezone;");
                }
                expectEq(count(c, REMARK + "SELECT count(*) FROM leads"), DEMO_LEADS, "a question afterwards");
            }
        });

        check("timestamptz_follows_session_time_zone", () -> {
            // PostgreSQL prints timestamptz, and converts it to date and timestamp, in the session's
            // TimeZone; Metabase's day/week bucketing of a timestamptz column depends on it.
            try (Connection c = connect()) {
                exec(c, "SET SESSION TIMEZONE TO 'Asia/Yekaterinburg';");
                ZoneId zone = ZoneId.of("Asia/Yekaterinburg");
                String sql = "SELECT created_at, CAST(created_at AS date) AS day, CAST(created_at AS timestamp) AS wall "
                    + "FROM leads ORDER BY lead_id LIMIT 300";
                lastSql = sql;
                try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
                    int n = 0;
                    while (rs.next()) {
                        OffsetDateTime at = rs.getObject(1, OffsetDateTime.class);
                        String text = rs.getString(1);
                        expect(text.endsWith("+05"), "timestamptz text in Asia/Yekaterinburg ends with +05: " + text);
                        LocalDateTime local = at.atZoneSameInstant(zone).toLocalDateTime();
                        expectEq(rs.getObject(2, LocalDate.class), local.toLocalDate(),
                            "CAST(created_at AS date) of " + at + " in Asia/Yekaterinburg");
                        expectEq(rs.getObject(3, LocalDateTime.class), local,
                            "CAST(created_at AS timestamp) of " + at + " in Asia/Yekaterinburg");
                        n++;
                    }
                    expectEq(n, 300, "rows");
                }
            }
        });

        check("timestamptz_literal_cast", () -> {
            // A literal cast to timestamptz is a timestamptz (OID 1184) with the literal's instant.
            try (Connection c = connect()) {
                for (String sql : List.of("SELECT CAST('2026-07-01T00:00:00Z' AS TIMESTAMP WITH TIME ZONE) AS t",
                    "SELECT CAST('2026-07-01 03:00:00+03' AS timestamptz) AS t",
                    "SELECT TIMESTAMP WITH TIME ZONE '2026-07-01 00:00:00+00' AS t")) {
                    lastSql = sql;
                    try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
                        expectEq(rs.getMetaData().getColumnTypeName(1), "timestamptz", "type of " + sql);
                        expect(rs.next(), "a row");
                        expectEq(rs.getObject(1, OffsetDateTime.class).toInstant(), JULY.toInstant(), "the instant of " + sql);
                    }
                }
            }
        });

        // ------------------------------------------------ Metabase sync: DatabaseMetaData
        check("metadata_get_schemas", () -> {
            try (Connection c = connect()) {
                lastSql = "(DatabaseMetaData.getSchemas)";
                List<String> schemas = new ArrayList<>();
                try (ResultSet rs = c.getMetaData().getSchemas()) {
                    while (rs.next()) {
                        schemas.add(rs.getString("TABLE_SCHEM"));
                    }
                }
                expect(schemas.contains("public"), "getSchemas includes public: " + schemas);
                List<String> catalogs = new ArrayList<>();
                lastSql = "(DatabaseMetaData.getCatalogs)";
                try (ResultSet rs = c.getMetaData().getCatalogs()) {
                    while (rs.next()) {
                        catalogs.add(rs.getString("TABLE_CAT"));
                    }
                }
                expect(catalogs.contains("oko"), "getCatalogs includes oko: " + catalogs);
            }
        });

        check("metadata_get_tables", () -> {
            try (Connection c = connect()) {
                lastSql = "(DatabaseMetaData.getTables(null, public, %, {TABLE, VIEW}))";
                Map<String, String> kinds = new LinkedHashMap<>();
                try (ResultSet rs = c.getMetaData().getTables(null, "public", "%", new String[] {"TABLE", "VIEW"})) {
                    while (rs.next()) {
                        expectEq(rs.getString("TABLE_SCHEM"), "public", "TABLE_SCHEM");
                        String name = rs.getString("TABLE_NAME");
                        expect(kinds.put(name, rs.getString("TABLE_TYPE")) == null, name + " listed twice");
                    }
                }
                for (String t : TABLES) {
                    expectEq(kinds.get(t), "TABLE", "TABLE_TYPE of " + t + " (all: " + kinds + ")");
                }
                for (String v : VIEWS) {
                    expectEq(kinds.get(v), "VIEW", "TABLE_TYPE of " + v + " (all: " + kinds + ")");
                }
                int n = 0;
                try (ResultSet rs = c.getMetaData().getTables(null, "public", "leads", null)) {
                    while (rs.next()) {
                        n++;
                    }
                }
                expectEq(n, 1, "getTables(null, public, leads, null) rows");
            }
        });

        check("metadata_get_columns_of_table", () -> {
            try (Connection c = connect()) {
                DatabaseMetaData md = c.getMetaData();
                lastSql = "(DatabaseMetaData.getColumns(null, public, leads, %))";
                List<String> names = new ArrayList<>();
                Map<String, String> types = new LinkedHashMap<>();
                Map<String, Integer> nullable = new LinkedHashMap<>();
                try (ResultSet rs = md.getColumns(null, "public", "leads", "%")) {
                    int pos = 0;
                    while (rs.next()) {
                        pos++;
                        String name = rs.getString("COLUMN_NAME");
                        String type = rs.getString("TYPE_NAME");
                        expectEq(rs.getString("TABLE_NAME"), "leads", "TABLE_NAME");
                        expectEq(rs.getInt("ORDINAL_POSITION"), pos, "ORDINAL_POSITION of " + name);
                        names.add(name);
                        types.put(name, type);
                        nullable.put(name, rs.getInt("NULLABLE"));
                        Set<Integer> want = jdbcTypes(type);
                        if (!want.isEmpty()) {
                            expect(want.contains(rs.getInt("DATA_TYPE")),
                                "DATA_TYPE of " + name + " (" + type + "): " + rs.getInt("DATA_TYPE"));
                        }
                    }
                }
                expectEq(names, List.of("tenant", "lead_id", "channel", "direction", "class", "manager_id",
                    "client_id", "created_at", "answered_at", "ended_at", "tags", "source", "created_month"),
                    "columns of leads in order");
                expectEq(types.get("tenant"), "text", "TYPE_NAME of tenant");
                expect(Set.of("timestamptz", "timestamp with time zone").contains(types.get("created_at")),
                    "TYPE_NAME of created_at is timestamptz: " + types.get("created_at"));
                expectEq(types.get("tags"), "_text", "TYPE_NAME of tags (text[])");
                expectEq(nullable.get("tenant"), DatabaseMetaData.columnNoNulls, "NULLABLE of tenant (required)");
                expectEq(nullable.get("answered_at"), DatabaseMetaData.columnNullable, "NULLABLE of answered_at");
                // The other column types of the model.
                expectEq(columnTypes(md.getColumns(null, "public", "ratings", "score")).get("score"), "int4",
                    "ratings.score");
                expectEq(columnTypes(md.getColumns(null, "public", "rating_requests", "cost")).get("cost"), "float8",
                    "rating_requests.cost");
                expectEq(columnTypes(md.getColumns(null, "public", "managers", "active")).get("active"), "bool",
                    "managers.active");
            }
        });

        check("metadata_get_columns_of_views", () -> {
            try (Connection c = connect()) {
                DatabaseMetaData md = c.getMetaData();
                lastSql = "(DatabaseMetaData.getColumns(null, public, manager_report_month, %))";
                Map<String, String> types = columnTypes(md.getColumns(null, "public", "manager_report_month", "%"));
                expectEq(types.get("period_start"), "timestamp", "manager_report_month.period_start");
                expectEq(types.get("leads"), "int8", "manager_report_month.leads");
                expectEq(types.get("avg_score"), "float8", "manager_report_month.avg_score");
                expectEq(types.get("is_outlier"), "bool", "manager_report_month.is_outlier");
                expectEq(types.get("achievements"), "_text", "manager_report_month.achievements");
                // getColumns agrees with what a query on the view describes.
                for (String v : VIEWS) {
                    lastSql = "(DatabaseMetaData.getColumns(null, public, " + v + ", %))";
                    Map<String, String> meta = columnTypes(md.getColumns(null, "public", v, "%"));
                    Map<String, String> described = new LinkedHashMap<>();
                    try (Statement st = c.createStatement();
                         ResultSet rs = query(st, "SELECT * FROM " + v + " LIMIT 0")) {
                        ResultSetMetaData rm = rs.getMetaData();
                        for (int i = 1; i <= rm.getColumnCount(); i++) {
                            described.put(rm.getColumnName(i), rm.getColumnTypeName(i));
                        }
                    }
                    expectEq(meta, described, "getColumns(" + v + ") vs SELECT * FROM " + v);
                }
            }
        });

        check("metadata_get_primary_keys", () -> {
            try (Connection c = connect()) {
                DatabaseMetaData md = c.getMetaData();
                lastSql = "(DatabaseMetaData.getPrimaryKeys(\"\", public, leads))";
                try (ResultSet rs = md.getPrimaryKeys("", "public", "leads")) {
                    while (rs.next()) {
                        rs.getString("COLUMN_NAME");
                    }
                }
            }
        });

        check("metadata_get_imported_and_exported_keys", () -> {
            try (Connection c = connect()) {
                DatabaseMetaData md = c.getMetaData();
                lastSql = "(DatabaseMetaData.getImportedKeys(\"\", public, leads))";
                try (ResultSet rs = md.getImportedKeys("", "public", "leads")) {
                    while (rs.next()) {
                        rs.getString("FKCOLUMN_NAME");
                    }
                }
                lastSql = "(DatabaseMetaData.getExportedKeys(\"\", public, leads))";
                try (ResultSet rs = md.getExportedKeys("", "public", "leads")) {
                    while (rs.next()) {
                        rs.getString("FKCOLUMN_NAME");
                    }
                }
            }
        });

        check("metadata_get_index_info", () -> {
            try (Connection c = connect()) {
                DatabaseMetaData md = c.getMetaData();
                lastSql = "(DatabaseMetaData.getIndexInfo(null, public, leads, false, true))";
                try (ResultSet rs = md.getIndexInfo(null, "public", "leads", false, true)) {
                    while (rs.next()) {
                        rs.getString("INDEX_NAME");
                    }
                }
            }
        });

        // ------------------------------------------------ Metabase sync: its own catalog queries
        check("metabase_describe_database_query", () -> {
            try (Connection c = connect()) {
                // metabase.driver.postgres/get-tables-sql
                List<Map<String, Object>> rows = rows(c, "SELECT \"n\".\"nspname\" AS \"schema\", \"c\".\"relname\" AS \"name\", "
                    + "CASE \"c\".\"relkind\" WHEN 'r' THEN 'TABLE' WHEN 'p' THEN 'PARTITIONED TABLE' WHEN 'v' THEN 'VIEW' "
                    + "WHEN 'f' THEN 'FOREIGN TABLE' WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE NULL END AS \"type\", "
                    + "\"d\".\"description\" AS \"description\", \"stat\".\"n_live_tup\" AS \"estimated_row_count\" "
                    + "FROM \"pg_catalog\".\"pg_class\" AS \"c\" "
                    + "INNER JOIN \"pg_catalog\".\"pg_namespace\" AS \"n\" ON \"c\".\"relnamespace\" = \"n\".\"oid\" "
                    + "LEFT JOIN \"pg_catalog\".\"pg_description\" AS \"d\" ON (\"c\".\"oid\" = \"d\".\"objoid\") "
                    + "AND (\"d\".\"objsubid\" = 0) AND (\"d\".\"classoid\" = 'pg_class'::regclass) "
                    + "LEFT JOIN \"pg_stat_user_tables\" AS \"stat\" ON (\"n\".\"nspname\" = \"stat\".\"schemaname\") "
                    + "AND (\"c\".\"relname\" = \"stat\".\"relname\") "
                    + "WHERE (\"c\".\"relnamespace\" = \"n\".\"oid\") AND (\"n\".\"nspname\" !~ '^pg_') "
                    + "AND (\"n\".\"nspname\" <> 'information_schema') AND c.relkind in ('r', 'p', 'v', 'f', 'm') "
                    + "AND (\"n\".\"nspname\" IN (?)) ORDER BY \"type\" ASC, \"schema\" ASC, \"name\" ASC", "public");
                Map<String, Object> kinds = new LinkedHashMap<>();
                rows.forEach(r -> kinds.put((String) r.get("name"), r.get("type")));
                expectEq(kinds.get("leads"), "TABLE", "type of leads (all: " + kinds + ")");
                expectEq(kinds.get("manager_report_month"), "VIEW", "type of manager_report_month");
            }
        });

        check("metabase_table_privileges_query", () -> {
            try (Connection c = connect()) {
                List<Map<String, Object>> rows = rows(c, """
                    with table_privileges as (
                     select
                       NULL as role,
                       t.schemaname as schema,
                       t.objectname as table,
                       pg_catalog.has_any_column_privilege(current_user, '"' || replace(t.schemaname, '"', '""') || '"' || '.' || '"' || replace(t.objectname, '"', '""') || '"',  'update') as update,
                       pg_catalog.has_any_column_privilege(current_user, '"' || replace(t.schemaname, '"', '""') || '"' || '.' || '"' || replace(t.objectname, '"', '""') || '"',  'select') as select,
                       pg_catalog.has_any_column_privilege(current_user, '"' || replace(t.schemaname, '"', '""') || '"' || '.' || '"' || replace(t.objectname, '"', '""') || '"',  'insert') as insert,
                       pg_catalog.has_table_privilege(     current_user, '"' || replace(t.schemaname, '"', '""') || '"' || '.' || '"' || replace(t.objectname, '"', '""') || '"',  'delete') as delete
                     from (
                       select schemaname, tablename as objectname from pg_catalog.pg_tables
                       union
                       select schemaname, viewname as objectname from pg_catalog.pg_views
                       union
                       select schemaname, matviewname as objectname from pg_catalog.pg_matviews
                     ) t
                     where t.schemaname !~ '^pg_'
                       and t.schemaname <> 'information_schema'
                       and pg_catalog.has_schema_privilege(current_user, t.schemaname, 'usage')
                    )
                    select t.*
                    from table_privileges t""");
                Map<String, Object> select = new LinkedHashMap<>();
                rows.forEach(r -> select.put((String) r.get("table"), r.get("select")));
                expectEq(select.get("leads"), Boolean.TRUE, "select privilege on leads (all: " + select + ")");
                expectEq(select.get("manager_report_month"), Boolean.TRUE, "select privilege on manager_report_month");
            }
        });

        check("metabase_describe_fields_query", () -> {
            try (Connection c = connect()) {
                // metabase.driver.postgres describe-fields-sql for two tables.
                String sql = "SELECT \"c\".\"column_name\" AS \"name\", CASE WHEN \"c\".\"udt_schema\" IN ('public', 'pg_catalog') "
                    + "THEN FORMAT('%s', \"c\".\"udt_name\") ELSE FORMAT('\"%s\".\"%s\"', \"c\".\"udt_schema\", \"c\".\"udt_name\") END "
                    + "AS \"database-type\", \"c\".\"ordinal_position\" - 1 AS \"database-position\", "
                    + "\"c\".\"table_schema\" AS \"table-schema\", \"c\".\"table_name\" AS \"table-name\", "
                    + "\"pk\".\"column_name\" IS NOT NULL AS \"pk?\", "
                    + "COL_DESCRIPTION(CAST(CAST(FORMAT('%I.%I', CAST(\"c\".\"table_schema\" AS TEXT), CAST(\"c\".\"table_name\" AS TEXT)) "
                    + "AS REGCLASS) AS OID), \"c\".\"ordinal_position\") AS \"field-comment\", "
                    + "((\"column_default\" IS NULL) OR (LOWER(\"column_default\") = 'null')) AND (\"is_nullable\" = 'NO') "
                    + "AND NOT (((\"column_default\" IS NOT NULL) AND (\"column_default\" LIKE '%nextval(%')) OR (\"is_identity\" <> 'NO')) "
                    + "AS \"database-required\", ((\"column_default\" IS NOT NULL) AND (\"column_default\" LIKE '%nextval(%')) "
                    + "OR (\"is_identity\" <> 'NO') AS \"database-is-auto-increment\" "
                    + "FROM \"information_schema\".\"columns\" AS \"c\" "
                    + "LEFT JOIN (SELECT \"tc\".\"table_schema\", \"tc\".\"table_name\", \"kc\".\"column_name\" "
                    + "FROM \"information_schema\".\"table_constraints\" AS \"tc\" "
                    + "INNER JOIN \"information_schema\".\"key_column_usage\" AS \"kc\" ON (\"tc\".\"constraint_name\" = \"kc\".\"constraint_name\") "
                    + "AND (\"tc\".\"table_schema\" = \"kc\".\"table_schema\") AND (\"tc\".\"table_name\" = \"kc\".\"table_name\") "
                    + "WHERE \"tc\".\"constraint_type\" = 'PRIMARY KEY') AS \"pk\" ON (\"c\".\"table_schema\" = \"pk\".\"table_schema\") "
                    + "AND (\"c\".\"table_name\" = \"pk\".\"table_name\") AND (\"c\".\"column_name\" = \"pk\".\"column_name\") "
                    + "WHERE c.table_schema !~ '^information_schema|catalog_history|pg_' AND (\"c\".\"table_schema\" IN (?)) "
                    + "AND (\"c\".\"table_name\" IN (?, ?)) "
                    + "UNION ALL "
                    + "SELECT \"pa\".\"attname\" AS \"name\", CASE WHEN \"ptn\".\"nspname\" IN ('public', 'pg_catalog') "
                    + "THEN FORMAT('%s', \"pt\".\"typname\") ELSE FORMAT('\"%s\".\"%s\"', \"ptn\".\"nspname\", \"pt\".\"typname\") END "
                    + "AS \"database-type\", \"pa\".\"attnum\" - 1 AS \"database-position\", \"pn\".\"nspname\" AS \"table-schema\", "
                    + "\"pc\".\"relname\" AS \"table-name\", FALSE AS \"pk?\", NULL AS \"field-comment\", "
                    + "FALSE AS \"database-required\", FALSE AS \"database-is-auto-increment\" "
                    + "FROM \"pg_catalog\".\"pg_class\" AS \"pc\" "
                    + "INNER JOIN \"pg_catalog\".\"pg_namespace\" AS \"pn\" ON \"pn\".\"oid\" = \"pc\".\"relnamespace\" "
                    + "INNER JOIN \"pg_catalog\".\"pg_attribute\" AS \"pa\" ON \"pa\".\"attrelid\" = \"pc\".\"oid\" "
                    + "INNER JOIN \"pg_catalog\".\"pg_type\" AS \"pt\" ON \"pt\".\"oid\" = \"pa\".\"atttypid\" "
                    + "INNER JOIN \"pg_catalog\".\"pg_namespace\" AS \"ptn\" ON \"ptn\".\"oid\" = \"pt\".\"typnamespace\" "
                    + "WHERE (\"pc\".\"relkind\" = 'm') AND (\"pa\".\"attnum\" >= 1) AND (\"pn\".\"nspname\" IN (?)) "
                    + "AND (\"pc\".\"relname\" IN (?, ?)) "
                    + "ORDER BY \"table-schema\" ASC, \"table-name\" ASC, \"database-position\" ASC";
                List<Map<String, Object>> rows = rows(c, sql, "public", "leads", "manager_report_month",
                    "public", "leads", "manager_report_month");
                Map<String, Object> leads = new LinkedHashMap<>();
                Map<String, Object> report = new LinkedHashMap<>();
                for (Map<String, Object> r : rows) {
                    (r.get("table-name").equals("leads") ? leads : report).put((String) r.get("name"), r.get("database-type"));
                }
                expectEq(leads.get("created_at"), "timestamptz", "database-type of leads.created_at (all: " + leads + ")");
                expectEq(leads.get("tags"), "_text", "database-type of leads.tags");
                expectEq(leads.get("tenant"), "text", "database-type of leads.tenant");
                expectEq(leads.size(), 13, "leads has 13 columns");
                expectEq(report.get("period_start"), "timestamp", "database-type of manager_report_month.period_start");
                Object pos = rows.get(0).get("database-position");
                expect(pos instanceof Number n && n.longValue() == 0, "database-position starts at 0: " + show(pos));
            }
        });

        check("metabase_describe_fks_query", () -> {
            try (Connection c = connect()) {
                rows(c, "SELECT \"fk_ns\".\"nspname\" AS \"fk-table-schema\", \"fk_table\".\"relname\" AS \"fk-table-name\", "
                    + "\"fk_column\".\"attname\" AS \"fk-column-name\", \"pk_ns\".\"nspname\" AS \"pk-table-schema\", "
                    + "\"pk_table\".\"relname\" AS \"pk-table-name\", \"pk_column\".\"attname\" AS \"pk-column-name\" "
                    + "FROM \"pg_constraint\" AS \"c\" "
                    + "INNER JOIN \"pg_class\" AS \"fk_table\" ON \"c\".\"conrelid\" = \"fk_table\".\"oid\" "
                    + "INNER JOIN \"pg_namespace\" AS \"fk_ns\" ON \"c\".\"connamespace\" = \"fk_ns\".\"oid\" "
                    + "INNER JOIN \"pg_attribute\" AS \"fk_column\" ON \"c\".\"conrelid\" = \"fk_column\".\"attrelid\" "
                    + "INNER JOIN \"pg_class\" AS \"pk_table\" ON \"c\".\"confrelid\" = \"pk_table\".\"oid\" "
                    + "INNER JOIN \"pg_namespace\" AS \"pk_ns\" ON \"pk_table\".\"relnamespace\" = \"pk_ns\".\"oid\" "
                    + "INNER JOIN \"pg_attribute\" AS \"pk_column\" ON \"c\".\"confrelid\" = \"pk_column\".\"attrelid\" "
                    + "WHERE (fk_ns.nspname !~ '^information_schema|catalog_history|pg_') AND (\"c\".\"contype\" = 'f'::char) "
                    + "AND (\"fk_column\".\"attnum\" = ANY(c.conkey)) AND (\"pk_column\".\"attnum\" = ANY(c.confkey)) "
                    + "AND (\"fk_ns\".\"nspname\" IN (?)) ORDER BY \"fk-table-schema\" ASC, \"fk-table-name\" ASC", "public");
            }
        });

        check("metabase_enum_types_query", () -> {
            try (Connection c = connect()) {
                rows(c, "SELECT nspname, typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace "
                    + "WHERE t.oid IN (SELECT DISTINCT enumtypid FROM pg_enum e)");
            }
        });

        // ------------------------------------------------ Metabase questions
        check("metabase_date_bucketing", () -> {
            try (Connection c = connect()) {
                List<Map<String, Object>> rows;
                String sql = REMARK + "SELECT date_trunc('week', CAST(\"public\".\"leads\".\"created_at\" AS timestamp)) AS \"created_at\", "
                    + "count(*) AS \"count\" FROM \"public\".\"leads\" GROUP BY 1 ORDER BY 1 ASC";
                lastSql = sql;
                try (PreparedStatement ps = c.prepareStatement(sql)) {
                    ps.setFetchSize(500);
                    ps.setMaxRows(2000);
                    try (ResultSet rs = ps.executeQuery()) {
                        ResultSetMetaData md = rs.getMetaData();
                        expectEq(md.getColumnTypeName(1), "timestamp", "type of date_trunc('week', timestamp)");
                        expectEq(md.getColumnType(1), Types.TIMESTAMP, "JDBC type of the bucket");
                        expectEq(md.getColumnTypeName(2), "int8", "type of count(*)");
                        LocalDateTime prev = null;
                        long sum = 0;
                        int n = 0;
                        while (rs.next()) {
                            // Metabase reads TIMESTAMP columns as LocalDateTime.
                            LocalDateTime week = rs.getObject(1, LocalDateTime.class);
                            expect(week != null, "a week bucket is not NULL");
                            expectEq(week.getDayOfWeek(), DayOfWeek.MONDAY, "week bucket " + week + " day");
                            expectEq(week.toLocalTime(), LocalTime.MIDNIGHT, "week bucket " + week + " time");
                            expect(prev == null || week.isAfter(prev), "ascending order: " + prev + " then " + week);
                            prev = week;
                            sum += rs.getLong(2);
                            n++;
                        }
                        expect(n >= 17 && n <= 19, "120 days are 17-19 weeks: " + n);
                        expectEq(sum, DEMO_LEADS, "counts add up to every lead");
                    }
                }
                // Day bucketing of a timestamptz column in the session's zone (Metabase :day).
                rows = rows(c, REMARK + "SELECT CAST(\"public\".\"leads\".\"created_at\" AS date) AS \"created_at\", count(*) AS \"count\" "
                    + "FROM \"public\".\"leads\" GROUP BY CAST(\"public\".\"leads\".\"created_at\" AS date) "
                    + "ORDER BY CAST(\"public\".\"leads\".\"created_at\" AS date) ASC");
                expect(!rows.isEmpty(), "day buckets");
                expect(rows.get(0).get("created_at") instanceof Date, "a date column is java.sql.Date: "
                    + show(rows.get(0).get("created_at")));
                expectEq(rows.stream().mapToLong(r -> (Long) r.get("count")).sum(), DEMO_LEADS, "day counts add up");
            }
        });

        check("metabase_timestamp_parameters", () -> {
            try (Connection c = connect()) {
                long want = count(c, "SELECT count(*) FROM leads WHERE created_at >= " + JULY_LITERAL);
                expect(want > 0 && want < DEMO_LEADS, "some leads from July on: " + want);
                String sql = REMARK + "SELECT count(*) AS \"count\" FROM \"public\".\"leads\" WHERE \"public\".\"leads\".\"created_at\" >= ?";
                lastSql = sql;
                try (PreparedStatement ps = c.prepareStatement(sql, ResultSet.TYPE_FORWARD_ONLY,
                    ResultSet.CONCUR_READ_ONLY, ResultSet.CLOSE_CURSORS_AT_COMMIT)) {
                    ps.setFetchSize(500);
                    // Metabase's set-parameters! asks for the parameter count first (Parse + Describe).
                    ParameterMetaData pm = ps.getParameterMetaData();
                    expectEq(pm.getParameterCount(), 1, "getParameterMetaData().getParameterCount()");
                    expect(Set.of("timestamptz", "timestamp with time zone").contains(pm.getParameterTypeName(1)),
                        "the parameter is inferred as timestamptz: " + pm.getParameterTypeName(1));
                    // 1. setTimestamp (sent untyped, text with the JVM's offset)
                    ps.setTimestamp(1, Timestamp.from(JULY.toInstant()));
                    expectEq(single(ps), want, "count with setTimestamp");
                    // 2. Metabase: setObject(OffsetDateTime, Types/TIMESTAMP_WITH_TIMEZONE)
                    ps.setObject(1, JULY.withOffsetSameInstant(ZoneOffset.ofHours(3)), Types.TIMESTAMP_WITH_TIMEZONE);
                    expectEq(single(ps), want, "count with setObject(OffsetDateTime, TIMESTAMP_WITH_TIMEZONE)");
                    // 3. setObject(OffsetDateTime) (sent as timestamptz)
                    ps.setObject(1, JULY);
                    expectEq(single(ps), want, "count with setObject(OffsetDateTime)");
                }
                // A timestamp (without time zone) column of a report view with LocalDateTime and LocalDate.
                long wantLocal = count(c, "SELECT count(*) FROM manager_report_month WHERE period_start >= TIMESTAMP '2026-07-01 00:00:00'");
                expect(wantLocal > 0, "report rows from July on: " + wantLocal);
                sql = "SELECT count(*) FROM manager_report_month WHERE period_start >= ?";
                lastSql = sql;
                try (PreparedStatement ps = c.prepareStatement(sql)) {
                    ps.setObject(1, LocalDateTime.of(2026, 7, 1, 0, 0), Types.TIMESTAMP);
                    expectEq(single(ps), wantLocal, "count with setObject(LocalDateTime, TIMESTAMP)");
                    ps.setObject(1, LocalDate.of(2026, 7, 1), Types.DATE);
                    expectEq(single(ps), wantLocal, "count with setObject(LocalDate, DATE)");
                }
            }
        });

        check("metabase_report_view_limit_2000", () -> {
            try (Connection c = connect()) {
                long total = count(c, "SELECT count(*) FROM manager_report_month");
                c.setReadOnly(true);
                c.setAutoCommit(false);
                String sql = REMARK + "SELECT * FROM manager_report_month LIMIT 2000";
                lastSql = sql;
                try (Statement st = c.createStatement()) {
                    st.setFetchSize(500);
                    st.setMaxRows(2000);
                    try (ResultSet rs = st.executeQuery(sql)) {
                        int n = readLikeMetabase(rs);
                        expectEq((long) n, Math.min(total, 2000), "rows of manager_report_month LIMIT 2000");
                    }
                    // A LIMIT 2000 sample of the big table, 500 rows per Execute.
                    sql = REMARK + "SELECT * FROM \"public\".\"leads\" LIMIT 2000";
                    lastSql = sql;
                    try (ResultSet rs = st.executeQuery(sql)) {
                        expectEq(readLikeMetabase(rs), 2000, "rows of leads LIMIT 2000");
                    }
                }
                c.commit();
                c.setAutoCommit(true);
                stillWorks(c);
            }
        });

        // ------------------------------------------------ types, in the three ways pgjdbc reads them
        check("types_text_format", () -> checkTypes(connect()));
        check("types_binary_format", () -> checkTypes(connect("prepareThreshold=-1")));
        check("types_simple_protocol", () -> checkTypes(connect("preferQueryMode=simple")));

        check("prepared_statement_reuse_past_threshold", () -> {
            // From the 5th execution pgjdbc switches to a named server-side statement and binary results.
            try (Connection c = connect()) {
                String sql = "SELECT count(*), min(created_at) FROM leads WHERE tenant = ? AND created_at >= ?";
                lastSql = sql;
                long first = -1;
                Instant firstMin = null;
                try (PreparedStatement ps = c.prepareStatement(sql)) {
                    for (int i = 0; i < 8; i++) {
                        ps.setString(1, "okna");
                        ps.setObject(2, JULY);
                        try (ResultSet rs = ps.executeQuery()) {
                            expect(rs.next(), "a row on execution " + (i + 1));
                            long n = rs.getLong(1);
                            Instant min = rs.getObject(2, OffsetDateTime.class).toInstant();
                            if (i == 0) {
                                first = n;
                                firstMin = min;
                                expect(n > 0, "okna has leads from July on");
                            }
                            expectEq(n, first, "count on execution " + (i + 1));
                            expectEq(min, firstMin, "min(created_at) on execution " + (i + 1));
                        }
                    }
                }
            }
        });

        // ------------------------------------------------ errors
        check("error_undefined_table_42P01", () -> {
            try (Connection c = connect()) {
                SQLException e = expectError(c, "SELECT * FROM no_such_table", "42P01");
                expect(e.getMessage().contains("no_such_table"), "the message names the table: " + e.getMessage());
                stillWorks(c);
                // Extended protocol with a parameter.
                String sql = "SELECT * FROM no_such_table WHERE a = ?";
                lastSql = sql;
                try (PreparedStatement ps = c.prepareStatement(sql)) {
                    ps.setLong(1, 1);
                    ps.executeQuery();
                    throw new Failed("a PreparedStatement on a missing table did not fail");
                } catch (SQLException x) {
                    expectEq(x.getSQLState(), "42P01", "SQLSTATE through a PreparedStatement (" + oneLine(x.getMessage()) + ")");
                }
                stillWorks(c);
            }
        });

        check("error_syntax_42601", () -> {
            try (Connection c = connect()) {
                expectError(c, "SELEC 1", "42601");
                stillWorks(c);
                expectError(c, REMARK + "SELECT tenant, count(* FROM leads GROUP BY tenant", "42601");
                stillWorks(c);
            }
        });

        check("error_in_transaction_then_rollback", () -> {
            // Metabase-style read-only transaction: after an error, ROLLBACK and go on.
            try (Connection c = connect()) {
                c.setReadOnly(true);
                c.setAutoCommit(false);
                expectEq(count(c, "SELECT count(*) FROM tenants"), 3L, "first query of the transaction");
                expectError(c, "SELECT * FROM no_such_table", "42P01");
                lastSql = "ROLLBACK";
                c.rollback();
                stillWorks(c);
                expectError(c, "SELEC 1", "42601");
                c.rollback();
                stillWorks(c);
                c.commit();
            }
        });

        check("error_aborts_transaction_until_rollback", () -> {
            // In PostgreSQL an error aborts the transaction: every statement but ROLLBACK fails with
            // 25P02 (in_failed_sql_transaction) until it ends.
            try (Connection c = connect()) {
                c.setAutoCommit(false);
                expectEq(count(c, "SELECT count(*) FROM tenants"), 3L, "first query of the transaction");
                expectError(c, "SELECT * FROM no_such_table", "42P01");
                expectError(c, "SELECT 1", "25P02");
                lastSql = "ROLLBACK";
                c.rollback();
                stillWorks(c);
            }
        });

        check("pgjdbc_unknown_type_lookup", () -> {
            // A column of a type pgjdbc has no built-in entry for (regclass) makes it look the type up
            // in pg_type with its own queries (TypeInfoCache), as it does for any unknown OID.
            try (Connection c = connect()) {
                org.postgresql.core.TypeInfo types = c.unwrap(org.postgresql.core.BaseConnection.class).getTypeInfo();
                lastSql = "(TypeInfoCache.getPGType(2205): SELECT n.nspname = ANY(current_schemas(true)), n.nspname, "
                    + "t.typname FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON t.typnamespace = n.oid "
                    + "WHERE t.oid = $1)";
                expectEq(types.getPGType(2205), "regclass", "pg_type name of OID 2205");
                lastSql = "(TypeInfoCache.getSQLType(2205): SELECT typinput='pg_catalog.array_in'::regproc as is_array, "
                    + "typtype, typname, pg_type.oid FROM pg_catalog.pg_type LEFT JOIN (...) as sp ON sp.nspoid = "
                    + "typnamespace WHERE pg_type.oid = $1 ORDER BY sp.r, pg_type.oid DESC)";
                expectEq(types.getSQLType(2205), Types.OTHER, "JDBC type of regclass");
                try (Statement st = c.createStatement();
                     ResultSet rs = query(st, "SELECT CAST('leads' AS regclass) AS r")) {
                    expectEq(rs.getMetaData().getColumnTypeName(1), "regclass", "type name of a regclass column");
                    expect(rs.next(), "a row");
                    expectEq(rs.getString(1), "leads", "regclass text");
                }
            }
        });

        check("cast_result_types", () -> {
            // A CAST's result has the target type, also for a catalog column.
            try (Connection c = connect(); Statement st = c.createStatement();
                 ResultSet rs = query(st, "SELECT CAST(relnamespace AS BIGINT) AS a, CAST(relnamespace AS TEXT) AS b, "
                     + "CAST(oid AS BIGINT) AS c FROM pg_catalog.pg_class WHERE relname = 'leads'")) {
                ResultSetMetaData md = rs.getMetaData();
                expectEq(md.getColumnTypeName(1), "int8", "CAST(relnamespace AS BIGINT)");
                expectEq(md.getColumnTypeName(2), "text", "CAST(relnamespace AS TEXT)");
                expectEq(md.getColumnTypeName(3), "int8", "CAST(oid AS BIGINT)");
                expect(rs.next(), "a row");
                expectEq(rs.getString(2), String.valueOf(rs.getLong(1)), "the same OID as text and bigint");
            }
        });

        // ------------------------------------------------ DBeaver
        check("dbeaver_session_startup", () -> {
            try (Connection c = connect()) {
                exec(c, "SET application_name = 'DBeaver 25.1.5 - Main <oko>'");
                expectEq(scalar(c, "SHOW application_name"), "DBeaver 25.1.5 - Main <oko>", "application_name");
                expect(scalar(c, "SHOW search_path").contains("public"), "search_path includes public");
                expect(scalar(c, "SELECT version()").startsWith("PostgreSQL "), "version() starts with PostgreSQL");
                List<Map<String, Object>> r = rows(c, "SELECT current_schema(),session_user");
                expectEq(r.size(), 1, "one row");
                expectEq(new ArrayList<>(r.get(0).values()), List.of("public", "oko"), "current_schema(), session_user");
                expectEq(scalar(c, "SELECT current_user"), "oko", "current_user (the login user)");
            }
        });

        check("catalog_oids_stable_across_connections", () -> {
            // DBeaver reads OIDs on its metadata connection and uses them on others; PostgreSQL's OIDs
            // do not depend on which catalog a connection happens to read first.
            String nsSql = "SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = 'public'";
            // (relnamespace + 0: an int8 whatever type the server gives relnamespace.)
            String relSql = "SELECT relnamespace + 0 AS relnamespace, oid + 0 AS oid "
                + "FROM pg_catalog.pg_class WHERE relname = 'leads'";
            List<String> seen = new ArrayList<>();
            for (boolean namespaceFirst : new boolean[] {true, false}) {
                try (Connection c = connect()) {
                    String ns = null;
                    if (namespaceFirst) {
                        ns = scalar(c, nsSql);
                    }
                    List<Map<String, Object>> rel = rows(c, relSql);
                    expectEq(rel.size(), 1, "one leads in pg_class");
                    if (!namespaceFirst) {
                        ns = scalar(c, nsSql);
                    }
                    String relns = String.valueOf(rel.get(0).get("relnamespace"));
                    expectEq(relns, ns, "pg_class.relnamespace of leads vs pg_namespace.oid of public ("
                        + (namespaceFirst ? "pg_namespace" : "pg_class") + " read first)");
                    seen.add("public=" + ns + " leads=" + rel.get(0).get("oid"));
                }
            }
            expectEq(seen.get(1), seen.get(0), "OIDs on a connection that read pg_class first vs pg_namespace first");
        });

        check("dbeaver_namespaces", () -> {
            try (Connection c = connect()) {
                List<Map<String, Object>> r = rows(c, "SELECT n.oid,n.*,d.description FROM pg_catalog.pg_namespace n "
                    + "LEFT OUTER JOIN pg_catalog.pg_description d ON d.objoid=n.oid AND d.objsubid=0 "
                    + "AND d.classoid='pg_namespace'::regclass ORDER BY nspname");
                Map<String, Object> pub = r.stream().filter(x -> "public".equals(x.get("nspname"))).findFirst().orElse(null);
                expect(pub != null, "public is listed: " + r);
                expect(pub.get("oid") != null, "public has an oid");
                expect(pub.containsKey("description"), "a description column");
            }
        });

        check("dbeaver_database_and_settings", () -> {
            try (Connection c = connect()) {
                List<Map<String, Object>> db = rows(c, "SELECT db.oid,db.* FROM pg_catalog.pg_database db WHERE datname='oko'");
                expectEq(db.size(), 1, "pg_database has oko");
                List<Map<String, Object>> s = rows(c, "SELECT * FROM pg_catalog.pg_settings where name='standard_conforming_strings'");
                expectEq(s.size(), 1, "pg_settings has standard_conforming_strings");
                expectEq(s.get(0).get("setting"), "on", "standard_conforming_strings");
            }
        });

        check("dbeaver_relations_of_public", () -> {
            try (Connection c = connect()) {
                long ns = oidOfPublic(c);
                for (String sql : List.of(
                    "SELECT c.oid,c.*,d.description FROM pg_catalog.pg_class c LEFT OUTER JOIN pg_catalog.pg_description d "
                        + "ON d.objoid=c.oid AND d.objsubid=0 AND d.classoid='pg_class'::regclass "
                        + "WHERE c.relnamespace=? AND c.relkind not in ('i','I','c')",
                    "SELECT c.oid,c.*,d.description,pg_catalog.pg_get_expr(c.relpartbound, c.oid) as partition_expr,  "
                        + "pg_catalog.pg_get_partkeydef(c.oid) as partition_key \nFROM pg_catalog.pg_class c\n"
                        + "LEFT OUTER JOIN pg_catalog.pg_description d ON d.objoid=c.oid AND d.objsubid=0 "
                        + "AND d.classoid='pg_class'::regclass\nWHERE c.relnamespace=? AND c.relkind not in ('i','I','c')")) {
                    List<Map<String, Object>> r = rows(c, sql, ns);
                    Map<String, Object> kinds = new LinkedHashMap<>();
                    r.forEach(x -> kinds.put((String) x.get("relname"), String.valueOf(x.get("relkind"))));
                    for (String t : TABLES) {
                        expectEq(kinds.get(t), "r", "relkind of " + t + " (all: " + kinds + ")");
                    }
                    for (String v : VIEWS) {
                        expectEq(kinds.get(v), "v", "relkind of " + v);
                    }
                }
                rows(c, "select c.oid,pg_catalog.pg_total_relation_size(c.oid) as total_rel_size,"
                    + "pg_catalog.pg_relation_size(c.oid) as rel_size FROM pg_class c WHERE c.relnamespace=?", ns);
            }
        });

        check("dbeaver_columns_of_leads", () -> {
            try (Connection c = connect()) {
                long leads = oidOfRelation(c, "leads");
                List<Map<String, Object>> r = rows(c, "SELECT c.relname,a.*,pg_catalog.pg_get_expr(ad.adbin, ad.adrelid, true) "
                    + "as def_value,dsc.description,dep.objid\nFROM pg_catalog.pg_attribute a\n"
                    + "INNER JOIN pg_catalog.pg_class c ON (a.attrelid=c.oid)\n"
                    + "LEFT OUTER JOIN pg_catalog.pg_attrdef ad ON (a.attrelid=ad.adrelid AND a.attnum = ad.adnum)\n"
                    + "LEFT OUTER JOIN pg_catalog.pg_description dsc ON (c.oid=dsc.objoid AND a.attnum = dsc.objsubid)\n"
                    + "LEFT OUTER JOIN pg_depend dep on dep.refobjid = a.attrelid AND dep.deptype = 'i' and "
                    + "dep.refobjsubid = a.attnum and dep.classid = dep.refclassid\n"
                    + "WHERE NOT a.attisdropped AND c.relkind not in ('i','I','c') AND c.oid=?\nORDER BY a.attnum", leads);
                Map<String, Object> types = new LinkedHashMap<>();
                r.forEach(x -> types.put((String) x.get("attname"), x.get("atttypid")));
                expectEq(types.size(), 13, "13 columns of leads: " + types);
                expectEq(String.valueOf(types.get("created_at")), "1184", "atttypid of created_at (timestamptz)");
                expectEq(String.valueOf(types.get("tags")), "1009", "atttypid of tags (text[])");
                expectEq(String.valueOf(types.get("tenant")), "25", "atttypid of tenant (text)");
            }
        });

        check("dbeaver_constraints_and_indexes", () -> {
            try (Connection c = connect()) {
                long leads = oidOfRelation(c, "leads");
                rows(c, "SELECT i.*,i.indkey as keys,c.relname,c.relnamespace,c.relam,c.reltablespace,tc.relname as tabrelname,"
                    + "dsc.description,pg_catalog.pg_get_expr(i.indpred, i.indrelid) as pred_expr,"
                    + "pg_catalog.pg_get_expr(i.indexprs, i.indrelid, true) as expr,"
                    + "pg_catalog.pg_relation_size(i.indexrelid) as index_rel_size,"
                    + "pg_catalog.pg_stat_get_numscans(i.indexrelid) as index_num_scans FROM pg_catalog.pg_index i\n"
                    + "INNER JOIN pg_catalog.pg_class c ON c.oid=i.indexrelid\n"
                    + "INNER JOIN pg_catalog.pg_class tc ON tc.oid=i.indrelid\n"
                    + "LEFT OUTER JOIN pg_catalog.pg_description dsc ON i.indexrelid=dsc.objoid\n"
                    + "WHERE  i.indrelid=? ORDER BY tabrelname, c.relname", leads);
                rows(c, "SELECT c.oid,c.*,t.relname as tabrelname,rt.relnamespace as refnamespace,d.description, "
                    + "case when c.contype='c' then \"substring\"(pg_get_constraintdef(c.oid), 7) else null end consrc_copy\n"
                    + "FROM pg_catalog.pg_constraint c\nINNER JOIN pg_catalog.pg_class t ON t.oid=c.conrelid\n"
                    + "LEFT OUTER JOIN pg_catalog.pg_class rt ON rt.oid=c.confrelid\n"
                    + "LEFT OUTER JOIN pg_catalog.pg_description d ON d.objoid=c.oid AND d.objsubid=0 "
                    + "AND d.classoid='pg_constraint'::regclass\nWHERE c.conrelid=?\nORDER BY c.oid", leads);
            }
        });

        check("dbeaver_type_lookup", () -> {
            try (Connection c = connect()) {
                List<Map<String, Object>> t = rows(c, "SELECT n.nspname = ANY(current_schemas(true)), n.nspname, t.typname "
                    + "FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON t.typnamespace = n.oid WHERE t.oid = 1034");
                expectEq(t.size(), 1, "pg_type has oid 1034 (_aclitem)");
                rows(c, "SELECT typinput='pg_catalog.array_in'::regproc as is_array, typtype, typname, pg_type.oid   "
                    + "FROM pg_catalog.pg_type   LEFT JOIN (select ns.oid as nspoid, ns.nspname, r.r           "
                    + "from pg_namespace as ns           join ( select s.r, (current_schemas(false))[s.r] as nspname"
                    + "                    from generate_series(1, array_upper(current_schemas(false), 1)) as s(r) ) as r"
                    + "          using ( nspname )        ) as sp     ON sp.nspoid = typnamespace  "
                    + "WHERE pg_type.oid = 1034  ORDER BY sp.r, pg_type.oid DESC");
            }
        });

        check("dbeaver_type_list", () -> {
            try (Connection c = connect()) {
                List<Map<String, Object>> all = rows(c, "SELECT t.oid,t.*,c.relkind,format_type(nullif(t.typbasetype, 0), t.typtypmod) "
                    + "as base_type_name, d.description FROM pg_catalog.pg_type t "
                    + "LEFT OUTER JOIN pg_catalog.pg_type et ON et.oid=t.typelem "
                    + "LEFT OUTER JOIN pg_catalog.pg_class c ON c.oid=t.typrelid "
                    + "LEFT OUTER JOIN pg_catalog.pg_description d ON t.oid=d.objoid "
                    + "WHERE t.typname IS NOT NULL AND (c.relkind IS NULL OR c.relkind = 'c') "
                    + "AND (et.typcategory IS NULL OR et.typcategory <> 'C')");
                Set<Object> names = new HashSet<>();
                all.forEach(r -> names.add(r.get("typname")));
                for (String n : List.of("text", "timestamptz", "float8", "bool", "date", "_text", "int8")) {
                    expect(names.contains(n), "pg_type lists " + n);
                }
            }
        });

        check("dbeaver_keywords_and_empty_probes", () -> {
            try (Connection c = connect()) {
                rows(c, "SELECT * FROM pg_catalog.pg_enum WHERE 1<>1 LIMIT 1");
                rows(c, "SELECT reltype FROM pg_catalog.pg_class WHERE 1<>1 LIMIT 1");
                String kw = scalar(c, "SELECT string_agg(word, ',' ) from pg_catalog.pg_get_keywords() "
                    + "where word <> ALL ('{a,abs,absolute,action,ada,add,admin,after,all,allocate,alter,and,any,are,array,as,asc}'::text[])");
                List<String> words = kw == null ? List.of() : Arrays.asList(kw.split(","));
                expect(words.contains("select") && words.contains("from"), "pg_get_keywords() has select and from: " + kw);
                expect(!words.contains("absolute"), "the excluded words are left out: " + kw);
            }
        });

        check("dbeaver_result_set_metadata", () -> {
            // What a results grid asks of a query's columns (pgjdbc may query pg_attribute for it).
            try (Connection c = connect(); Statement st = c.createStatement();
                 ResultSet rs = query(st, "SELECT * FROM leads LIMIT 5")) {
                ResultSetMetaData md = rs.getMetaData();
                expectEq(md.getColumnCount(), 13, "columns of leads");
                for (int i = 1; i <= md.getColumnCount(); i++) {
                    md.isNullable(i);
                    md.isAutoIncrement(i);
                    md.getTableName(i);
                    md.getSchemaName(i);
                    md.getColumnDisplaySize(i);
                    md.getPrecision(i);
                    md.getScale(i);
                    md.getColumnClassName(i);
                }
                int n = 0;
                while (rs.next()) {
                    n++;
                }
                expectEq(n, 5, "rows");
            }
        });
    }

    /** One long from a PreparedStatement's first row. */
    static long single(PreparedStatement ps) throws SQLException {
        try (ResultSet rs = ps.executeQuery()) {
            expect(rs.next(), "a row");
            return rs.getLong(1);
        }
    }

    /** Reads every value the way Metabase's read-column-thunk does; returns the row count. */
    static int readLikeMetabase(ResultSet rs) throws SQLException {
        ResultSetMetaData md = rs.getMetaData();
        int n = 0;
        while (rs.next()) {
            for (int i = 1; i <= md.getColumnCount(); i++) {
                int t = md.getColumnType(i);
                String name = md.getColumnTypeName(i);
                if (t == Types.TIMESTAMP && name.equals("timestamptz") || t == Types.TIMESTAMP_WITH_TIMEZONE) {
                    rs.getObject(i, OffsetDateTime.class);
                } else if (t == Types.TIMESTAMP) {
                    rs.getObject(i, LocalDateTime.class);
                } else if (t == Types.DATE) {
                    rs.getObject(i, LocalDate.class);
                } else if (t == Types.ARRAY) {
                    Array a = rs.getArray(i);
                    if (a != null) {
                        a.getArray();
                    }
                } else {
                    rs.getObject(i);
                }
            }
            n++;
        }
        return n;
    }

    /** timestamptz, date, double, bool, text, text[], int4, int8 and NULLs of each. */
    static void checkTypes(Connection c) throws Exception {
        try (c) {
            String sql = "SELECT l.lead_id, l.created_at, l.answered_at, date_part('epoch', l.created_at) AS created_epoch, "
                + "CAST('2026-07-15' AS DATE) AS a_date, CAST(NULL AS DATE) AS no_date, "
                + "CAST(1.5 AS DOUBLE PRECISION) AS a_double, CAST(NULL AS DOUBLE PRECISION) AS no_double, "
                + "l.answered_at IS NULL AS unanswered, CAST(NULL AS BOOLEAN) AS no_bool, "
                + "CAST(NULL AS TEXT) AS no_text, l.tags, "
                + "CAST(7 AS INTEGER) AS an_int, CAST(NULL AS INTEGER) AS no_int, CAST(12000000000 AS BIGINT) AS a_bigint "
                + "FROM leads l WHERE l.answered_at IS NULL AND cardinality(l.tags) > 1 ORDER BY l.lead_id LIMIT 1";
            lastSql = sql;
            try (PreparedStatement ps = c.prepareStatement(sql); ResultSet rs = ps.executeQuery()) {
                ResultSetMetaData md = rs.getMetaData();
                String[][] want = {
                    {"lead_id", "text"}, {"created_at", "timestamptz"}, {"answered_at", "timestamptz"},
                    {"created_epoch", "float8"}, {"a_date", "date"}, {"no_date", "date"}, {"a_double", "float8"},
                    {"no_double", "float8"}, {"unanswered", "bool"}, {"no_bool", "bool"}, {"no_text", "text"},
                    {"tags", "_text"}, {"an_int", "int4"}, {"no_int", "int4"}, {"a_bigint", "int8"}};
                expectEq(md.getColumnCount(), want.length, "column count");
                for (int i = 1; i <= want.length; i++) {
                    String[] w = want[i - 1];
                    expectEq(md.getColumnLabel(i), w[0], "column " + i);
                    expectEq(md.getColumnTypeName(i), w[1], "type of " + w[0]);
                    expect(jdbcTypes(w[1]).contains(md.getColumnType(i)),
                        "JDBC type of " + w[0] + " (" + w[1] + "): " + md.getColumnType(i));
                }
                expect(rs.next(), "a lead with no answer and two or more tags");
                // text
                Object leadId = rs.getObject("lead_id");
                expect(leadId instanceof String s && !s.isEmpty(), "lead_id is a String: " + show(leadId));
                // timestamptz
                Object created = rs.getObject("created_at");
                expect(created instanceof Timestamp, "getObject(timestamptz) is a Timestamp: " + show(created));
                OffsetDateTime createdOdt = rs.getObject("created_at", OffsetDateTime.class);
                expectEq(createdOdt.toInstant(), ((Timestamp) created).toInstant(), "OffsetDateTime vs Timestamp");
                double epoch = rs.getDouble("created_epoch");
                expectEq(createdOdt.toInstant().toEpochMilli(), Math.round(epoch * 1000),
                    "created_at equals date_part('epoch', created_at) (ms)");
                expect(!createdOdt.isBefore(OffsetDateTime.of(2026, 6, 1, 0, 0, 0, 0, ZoneOffset.UTC).minusDays(1))
                    && createdOdt.isBefore(OffsetDateTime.of(2026, 10, 15, 0, 0, 0, 0, ZoneOffset.UTC)),
                    "created_at inside the demo period: " + createdOdt);
                // NULL timestamptz
                expect(rs.getObject("answered_at") == null && rs.wasNull(), "answered_at is NULL");
                expect(rs.getObject("answered_at", OffsetDateTime.class) == null, "NULL as OffsetDateTime");
                // date
                Object d = rs.getObject("a_date");
                expect(d instanceof Date, "getObject(date) is a java.sql.Date: " + show(d));
                expectEq(rs.getObject("a_date", LocalDate.class), LocalDate.of(2026, 7, 15), "date value");
                expect(rs.getObject("no_date") == null && rs.wasNull(), "NULL date");
                // double
                Object dbl = rs.getObject("a_double");
                expectEq(dbl, 1.5, "getObject(float8)");
                expect(rs.getDouble("no_double") == 0.0 && rs.wasNull(), "NULL double: 0.0 and wasNull");
                // bool
                expectEq(rs.getObject("unanswered"), Boolean.TRUE, "getObject(bool)");
                expect(rs.getObject("no_bool") == null && rs.wasNull(), "NULL bool");
                expect(!rs.getBoolean("no_bool") && rs.wasNull(), "NULL bool as getBoolean");
                // text NULL
                expect(rs.getString("no_text") == null && rs.wasNull(), "NULL text");
                // text[]
                Array tags = rs.getArray("tags");
                expect(tags != null, "tags is not NULL");
                expectEq(tags.getBaseTypeName(), "text", "Array.getBaseTypeName");
                expectEq(tags.getBaseType(), Types.VARCHAR, "Array.getBaseType");
                Object arr = tags.getArray();
                expect(arr instanceof String[], "Array.getArray() is a String[]: " + show(arr));
                String[] tagValues = (String[]) arr;
                expect(tagValues.length > 1, "two or more tags: " + Arrays.toString(tagValues));
                for (String t : tagValues) {
                    expect(t != null && !t.isEmpty(), "a tag: " + Arrays.toString(tagValues));
                }
                try (ResultSet elems = tags.getResultSet()) {
                    int n = 0;
                    while (elems.next()) {
                        expectEq(elems.getString(2), tagValues[n], "Array.getResultSet element " + (n + 1));
                        n++;
                    }
                    expectEq(n, tagValues.length, "Array.getResultSet rows");
                }
                // integers
                expectEq(rs.getObject("an_int"), 7, "getObject(int4)");
                expect(rs.getInt("no_int") == 0 && rs.wasNull(), "NULL int4");
                expectEq(rs.getObject("a_bigint"), 12000000000L, "getObject(int8)");
                expect(!rs.next(), "LIMIT 1");
            }
            // The same tags through a plain query: the array matches element by element.
            String again = "SELECT tags, array_length(tags, 1) AS n FROM leads WHERE cardinality(tags) > 1 ORDER BY lead_id LIMIT 20";
            lastSql = again;
            try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(again)) {
                int rows = 0;
                while (rs.next()) {
                    String[] t = (String[]) rs.getArray(1).getArray();
                    expectEq(t.length, rs.getInt(2), "array_length vs elements of " + Arrays.toString(t));
                    rows++;
                }
                expectEq(rows, 20, "20 leads with tags");
            }
            // A NULL text[] and an empty one.
            String nulls = "SELECT tags FROM leads WHERE tags IS NULL LIMIT 1";
            lastSql = nulls;
            try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(nulls)) {
                if (rs.next()) {
                    expect(rs.getArray(1) == null && rs.wasNull(), "NULL text[] reads as null");
                }
            }
        }
    }
}
