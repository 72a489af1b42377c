//! `json_agg(x)`, `jsonb_agg(x)`, `json_object_agg(k, v)`,
//! `jsonb_object_agg(k, v)`, with `ORDER BY`, `DISTINCT` and `FILTER` as
//! DataFusion gives every aggregate.
//!
//! Collecting the values is DataFusion's `array_agg`, whose accumulator
//! already keeps `ORDER BY` across partial aggregates; ours wraps it and
//! writes the list as PostgreSQL does at the end: `json_agg` as `[1, 2]`
//! (and, as PostgreSQL, `, \n ` before each array or record after the
//! first), `json_object_agg` as `{ "a" : 1, "b" : 2 }`, the `jsonb` ones
//! canonical. No rows give NULL.
//!
//! An aggregate has no session configuration when it runs, so the
//! session's time zone (for `timestamptz` values) is stamped on the
//! function when the plan is analyzed ([`with_session_zone`]).

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, StructArray};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Fields};
use datafusion::common::{Result, ScalarValue};
use datafusion::functions_aggregate::array_agg::ArrayAgg;
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::utils::AggregateOrderSensitivity;
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, Signature, Volatility,
};
use datafusion::prelude::SessionContext;

use super::Kind;
use super::functions::key_text;
use super::to_json::Writer;
use super::value;
use crate::sqlstate::{code, coded};

/// Registers the four aggregates in `ctx`.
pub fn register(ctx: &SessionContext) {
    for kind in [Kind::Json, Kind::Jsonb] {
        for object in [false, true] {
            ctx.register_udaf(AggregateUDF::new_from_impl(JsonAgg::new(kind, object)));
        }
    }
}

/// One of the four.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct JsonAgg {
    kind: Kind,
    /// `json_object_agg` (two arguments).
    object: bool,
    /// The input arrives sorted as `ORDER BY` asks (DataFusion's choice).
    pre_ordered: bool,
    /// The session's time zone, stamped at analysis.
    zone: Option<String>,
    signature: Signature,
}

impl JsonAgg {
    pub fn new(kind: Kind, object: bool) -> JsonAgg {
        JsonAgg {
            kind,
            object,
            pre_ordered: false,
            zone: None,
            signature: Signature::any(if object { 2 } else { 1 }, Volatility::Immutable),
        }
    }

    /// The array_agg that collects the values (for two arguments, records
    /// of both).
    fn inner(&self) -> Result<Arc<dyn AggregateUDFImpl>> {
        let agg: Arc<dyn AggregateUDFImpl> = Arc::new(ArrayAgg::default());
        Ok(agg
            .with_beneficial_ordering(self.pre_ordered)?
            .unwrap_or_else(|| Arc::new(ArrayAgg::default())))
    }

    /// The field array_agg collects: the argument, or a record of both.
    fn collected(&self, fields: &[FieldRef]) -> FieldRef {
        if self.object && fields.len() >= 2 {
            Arc::new(Field::new(
                "kv",
                DataType::Struct(Fields::from(vec![
                    fields[0].as_ref().clone().with_name("k"),
                    fields[1]
                        .as_ref()
                        .clone()
                        .with_name("v")
                        .with_nullable(true),
                ])),
                true,
            ))
        } else {
            fields
                .first()
                .cloned()
                .unwrap_or_else(|| Arc::new(Field::new("v", DataType::Null, true)))
        }
    }
}

/// An aggregate call of ours with the session's time zone stamped on it;
/// `None` for any other.
pub fn with_session_zone(udaf: &AggregateUDF, zone: Option<&str>) -> Option<AggregateUDF> {
    let inner: &dyn std::any::Any = udaf.inner().as_ref();
    let agg = inner.downcast_ref::<JsonAgg>()?;
    if agg.zone.as_deref() == zone {
        return None;
    }
    Some(AggregateUDF::new_from_impl(JsonAgg {
        zone: zone.map(str::to_string),
        ..agg.clone()
    }))
}

impl AggregateUDFImpl for JsonAgg {
    fn name(&self) -> &str {
        match (self.kind, self.object) {
            (Kind::Json, false) => "json_agg",
            (Kind::Jsonb, false) => "jsonb_agg",
            (Kind::Json, true) => "json_object_agg",
            (Kind::Jsonb, true) => "jsonb_object_agg",
        }
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }
    fn return_field(&self, _: &[FieldRef]) -> Result<FieldRef> {
        Ok(self.kind.field(self.name(), true))
    }
    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        let collected = [self.collected(args.input_fields)];
        self.inner()?.state_fields(StateFieldsArgs {
            input_fields: &collected,
            ..args
        })
    }
    fn order_sensitivity(&self) -> AggregateOrderSensitivity {
        AggregateOrderSensitivity::SoftRequirement
    }
    fn with_beneficial_ordering(
        self: Arc<Self>,
        beneficial_ordering: bool,
    ) -> Result<Option<Arc<dyn AggregateUDFImpl>>> {
        Ok(Some(Arc::new(JsonAgg {
            pre_ordered: beneficial_ordering,
            ..self.as_ref().clone()
        })))
    }
    fn accumulator(&self, acc_args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        let collected = [self.collected(acc_args.expr_fields)];
        let inner = self.inner()?.accumulator(AccumulatorArgs {
            expr_fields: &collected,
            ..acc_args
        })?;
        Ok(Box::new(JsonAccumulator {
            inner,
            kind: self.kind,
            object: self.object,
            fields: acc_args.expr_fields.to_vec(),
            collected: collected[0].clone(),
            writer: Writer::new(self.zone.as_deref()),
        }))
    }
}

#[derive(Debug)]
struct JsonAccumulator {
    inner: Box<dyn Accumulator>,
    kind: Kind,
    object: bool,
    /// The arguments' fields.
    fields: Vec<FieldRef>,
    /// What the inner array_agg collects.
    collected: FieldRef,
    writer: Writer,
}

impl Accumulator for JsonAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        if !self.object {
            return self.inner.update_batch(values);
        }
        let [k, v, orderings @ ..] = values else {
            return Err(coded(
                code::UNDEFINED_FUNCTION,
                "json_object_agg takes two arguments",
            ));
        };
        let DataType::Struct(fields) = self.collected.data_type() else {
            return Err(coded(
                code::INTERNAL_ERROR,
                "json_object_agg collects records",
            ));
        };
        let record: ArrayRef = Arc::new(StructArray::try_new(
            fields.clone(),
            vec![k.clone(), v.clone()],
            None,
        )?);
        let mut all = vec![record];
        all.extend(orderings.iter().cloned());
        self.inner.update_batch(&all)
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        let list = self.inner.evaluate()?;
        let items: ArrayRef = match &list {
            ScalarValue::List(l) if !l.is_null(0) => l.value(0),
            ScalarValue::LargeList(l) if !l.is_null(0) => l.value(0),
            _ => return Ok(ScalarValue::Utf8(None)),
        };
        if items.is_empty() {
            return Ok(ScalarValue::Utf8(None));
        }
        let text = if self.object {
            self.object_text(&items)?
        } else {
            self.array_text(&items)?
        };
        let text = match self.kind {
            Kind::Json => text,
            Kind::Jsonb => value::jsonb_text(&value::parse_jsonb(&text)?)?,
        };
        Ok(ScalarValue::Utf8(Some(text)))
    }

    fn size(&self) -> usize {
        self.inner.size() + size_of::<Self>()
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        self.inner.state()
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        self.inner.merge_batch(states)
    }
}

impl JsonAccumulator {
    /// `json_agg`'s text: `[a, b]`, with `\n ` before an array or record
    /// after the first.
    fn array_text(&self, items: &ArrayRef) -> Result<String> {
        let field = self
            .fields
            .first()
            .cloned()
            .unwrap_or_else(|| self.collected.clone());
        let structured = matches!(
            items.data_type(),
            DataType::List(_)
                | DataType::LargeList(_)
                | DataType::FixedSizeList(..)
                | DataType::Struct(_)
        );
        let mut text = String::from("[");
        for i in 0..items.len() {
            if i > 0 {
                text.push_str(", ");
                if structured && !items.is_null(i) {
                    text.push_str("\n ");
                }
            }
            self.writer.write(items.as_ref(), &field, i, &mut text)?;
        }
        text.push(']');
        Ok(text)
    }

    /// `json_object_agg`'s text: `{ "a" : 1, "b" : 2 }`.
    fn object_text(&self, items: &ArrayRef) -> Result<String> {
        let records = items.as_struct();
        let (keys, values) = (records.column(0), records.column(1));
        let (key_field, value_field) = match self.fields.as_slice() {
            [k, v, ..] => (k.clone(), v.clone()),
            _ => {
                return Err(coded(
                    code::UNDEFINED_FUNCTION,
                    "json_object_agg takes two arguments",
                ));
            }
        };
        let mut text = String::from("{ ");
        for i in 0..records.len() {
            if i > 0 {
                text.push_str(", ");
            }
            if keys.is_null(i) {
                return Err(coded(
                    code::INVALID_PARAMETER_VALUE,
                    "field name must not be null",
                ));
            }
            let key = key_text(&self.writer, keys.as_ref(), &key_field, i, 1)?;
            value::write_string(&key, &mut text);
            text.push_str(" : ");
            self.writer
                .write(values.as_ref(), &value_field, i, &mut text)?;
        }
        text.push_str(" }");
        Ok(text)
    }
}
