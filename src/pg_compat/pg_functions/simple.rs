//! A scalar function given by its name, signature, answer type and a
//! function over whole argument arrays: the shape most PostgreSQL functions
//! here share, without a struct and an `impl` each.

use datafusion::arrow::array::ArrayRef;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result;
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, TypeSignature,
    Volatility,
};

/// The answer's type from the arguments' types.
pub type ReturnType = fn(&[DataType]) -> Result<DataType>;
/// The arguments' types the function is called with (for a
/// `user_defined` signature).
pub type Coerce = fn(&[DataType]) -> Result<Vec<DataType>>;
/// The answers of one batch: arguments as arrays of the batch's rows, and
/// the answer's type.
pub type Run = fn(&[ArrayRef], &DataType) -> Result<ArrayRef>;

/// See the module documentation.
#[derive(Debug)]
pub struct SimpleFunction {
    name: &'static str,
    signature: Signature,
    return_type: ReturnType,
    coerce: Option<Coerce>,
    run: Run,
}

impl PartialEq for SimpleFunction {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl Eq for SimpleFunction {}

impl std::hash::Hash for SimpleFunction {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.name.hash(state)
    }
}

/// A function with a fixed signature.
pub fn function(
    name: &'static str,
    signature: Signature,
    return_type: ReturnType,
    run: Run,
) -> ScalarUDF {
    ScalarUDF::new_from_impl(SimpleFunction {
        name,
        signature,
        return_type,
        coerce: None,
        run,
    })
}

/// A function that chooses its arguments' types itself.
pub fn coercing(
    name: &'static str,
    volatility: Volatility,
    coerce: Coerce,
    return_type: ReturnType,
    run: Run,
) -> ScalarUDF {
    ScalarUDF::new_from_impl(SimpleFunction {
        name,
        signature: Signature::new(TypeSignature::UserDefined, volatility),
        return_type,
        coerce: Some(coerce),
        run,
    })
}

/// A function that chooses its arguments' types and takes named arguments
/// (`make_interval(hours => 5)`).
pub fn named(
    name: &'static str,
    parameters: &[&str],
    coerce: Coerce,
    return_type: ReturnType,
    run: Run,
) -> Result<ScalarUDF> {
    Ok(ScalarUDF::new_from_impl(SimpleFunction {
        name,
        signature: Signature::new(TypeSignature::UserDefined, Volatility::Immutable)
            .with_parameter_names(parameters.to_vec())?,
        return_type,
        coerce: Some(coerce),
        run,
    }))
}

impl ScalarUDFImpl for SimpleFunction {
    fn name(&self) -> &str {
        self.name
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        (self.return_type)(args)
    }
    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        match self.coerce {
            Some(coerce) => coerce(args),
            None => Ok(args.to_vec()),
        }
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let scalar = super::all_scalar(&args.args);
        let arrays = args
            .args
            .iter()
            .map(|a| a.to_array(args.number_rows))
            .collect::<Result<Vec<_>>>()?;
        let out = (self.run)(&arrays, args.return_field.data_type())?;
        super::answer(out, scalar)
    }
}
