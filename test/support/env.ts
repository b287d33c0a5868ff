/** Test runs keep the structured logs quiet; a failing test's own output is what matters. */
process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
process.env.POWERTOOLS_DEV ??= 'true';
process.env.POWERTOOLS_SERVICE_NAME ??= 'data-export';
