/**
 * Jest's node environment runs each test file in its own realm, so errors raised by Node itself
 * (ECONNREFUSED, ENOTFOUND, ...) are not `instanceof Error` there. The AWS SDK checks exactly that
 * and, failing it, replaces the error with a generic one that has lost its `code`: the destination
 * classification would then see in tests what it never sees in production. Sharing the error
 * constructors of the outer realm keeps both the same.
 */
const { TestEnvironment } = require('jest-environment-node');

const ERROR_CONSTRUCTORS = [
  'Error',
  'TypeError',
  'RangeError',
  'SyntaxError',
  'ReferenceError',
  'EvalError',
  'URIError',
  'AggregateError',
];

class SameRealmErrorsEnvironment extends TestEnvironment {
  constructor(config, context) {
    super(config, context);
    for (const name of ERROR_CONSTRUCTORS) this.global[name] = globalThis[name];
  }
}

module.exports = SameRealmErrorsEnvironment;
