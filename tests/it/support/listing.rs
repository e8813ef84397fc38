//! What a listing that meets an error yields, read off its operation
//! stream.

use eeops::OperationStream;

/// Reads `operations`, which must yield the operations named `before`, then
/// an error, then nothing more; returns the error.
pub async fn error_after(operations: &mut OperationStream, before: &[&str]) -> eeops::Error {
    for name in before {
        let operation = operations
            .next()
            .await
            .expect("an operation before the error")
            .expect("an operation, not yet the error");
        assert_eq!(operation.name, *name);
    }
    let error = operations
        .next()
        .await
        .expect("an item after the operations")
        .expect_err("an error after the operations");
    assert!(
        operations.next().await.is_none(),
        "the listing ends at the error ({error})"
    );
    error
}
