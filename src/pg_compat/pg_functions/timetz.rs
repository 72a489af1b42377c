//! `pg_timetz(timestamptz)`: an instant's time of day with its zone's
//! offset, PostgreSQL's `time with time zone` (`current_time` is
//! `pg_timetz(now())`). Arrow has no such type: the value is its text,
//! in a column marked `timetz` ([`crate::pg_compat::text_types`]), which
//! the wire describes as `timetz` and sends in text or binary
//! ([`crate::server::timetz`]).

use std::sync::Arc;

use datafusion::arrow::array::{Array, AsArray, StringBuilder};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, TimeUnit, TimestampMicrosecondType};
use datafusion::common::{Result, exec_err};
use datafusion::logical_expr::{
    ColumnarValue, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
    Volatility,
};

use super::datetime::Zone;

/// The function, for registering.
pub fn pg_timetz() -> ScalarUDF {
    ScalarUDF::new_from_impl(PgTimetz {
        signature: Signature::any(1, Volatility::Stable),
    })
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct PgTimetz {
    signature: Signature,
}

impl ScalarUDFImpl for PgTimetz {
    fn name(&self) -> &str {
        "pg_timetz"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }
    fn return_field_from_args(&self, _: ReturnFieldArgs) -> Result<FieldRef> {
        Ok(Arc::new(crate::pg_compat::text_types::marked(
            Field::new(self.name(), DataType::Utf8, true),
            "timetz",
        )))
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let scalar = super::all_scalar(&args.args);
        let array = args.args[0].to_array(args.number_rows)?;
        let DataType::Timestamp(_, Some(own)) = array.data_type() else {
            return exec_err!("pg_timetz needs a timestamp with time zone");
        };
        // The session's `TimeZone` (its `execution.time_zone`), as a
        // `timestamptz` is written, else the value's own.
        let zone = Zone::of_arrow(
            args.config_options
                .execution
                .time_zone
                .as_deref()
                .unwrap_or(own),
        )?;
        let micros = datafusion::arrow::compute::cast(
            &array,
            &DataType::Timestamp(TimeUnit::Microsecond, None),
        )?;
        let micros = micros.as_primitive::<TimestampMicrosecondType>();
        let mut out = StringBuilder::new();
        for i in 0..micros.len() {
            let text = micros
                .is_valid(i)
                .then(|| crate::pg_compat::text_out::timetz(micros.value(i), &zone))
                .flatten();
            out.append_option(text);
        }
        super::answer(Arc::new(out.finish()), scalar)
    }
}
