/** The one mapping of errors to HTTP responses (lambdas/http/errors.ts). */
import { DestinationValidationError } from '../../lambdas/core/destination-input';
import {
  AccessDeniedError,
  BucketNotFoundError,
  EndpointUnreachableError,
  InvalidCredentialsError,
  TransientDestinationError,
  WrongRegionError,
} from '../../lambdas/core/destination';
import {
  ConflictError,
  ForbiddenError,
  NotFoundError,
  PlanRequiredError,
  UnauthorizedError,
  ValidationError,
} from '../../lambdas/core/errors';
import { errorResponse, MethodNotAllowedError } from '../../lambdas/http/errors';

describe('errorResponse', () => {
  test.each([
    [new ValidationError('Bad input.'), 400, 'invalid_request'],
    [new UnauthorizedError('No token.'), 401, 'unauthorized'],
    [new PlanRequiredError('Manual export', ['pro', 'enterprise'], 'free'), 403, 'plan_required'],
    [new ForbiddenError('Operators only.'), 403, 'forbidden'],
    [new NotFoundError('No such environment.'), 404, 'not_found'],
    [new ConflictError('Exists.'), 409, 'conflict'],
  ])('answers %p with %i %s and its own message', (error, status, code) => {
    expect(errorResponse(error)).toMatchObject({ status, body: { error: { code, message: error.message } } });
    expect((errorResponse(error).body as { error: object }).error).not.toHaveProperty('issues');
  });

  test('lists the issues of a validation error that has some', () => {
    const issues = [{ path: 'adoption.windowDays', message: 'must be a whole number of at least minActiveDays' }];
    expect(errorResponse(new ValidationError('Invalid adoption thresholds.', issues))).toEqual({
      status: 400,
      body: { error: { code: 'invalid_request', message: 'Invalid adoption thresholds.', issues } },
      headers: {},
    });
  });

  test('names the allowed methods and the authentication scheme in headers', () => {
    expect(new MethodNotAllowedError('/v1/organizations', ['GET']).name).toBe('MethodNotAllowedError');
    expect(errorResponse(new MethodNotAllowedError('/v1/organizations', ['GET', 'POST']))).toEqual({
      status: 405,
      body: { error: { code: 'method_not_allowed', message: '/v1/organizations accepts GET, POST.' } },
      headers: { allow: 'GET, POST' },
    });
    expect(errorResponse(new UnauthorizedError('No token.')).headers).toEqual({ 'www-authenticate': 'Bearer' });
  });

  test.each([
    [new InvalidCredentialsError(), 403],
    [new AccessDeniedError('acme', ''), 403],
    [new BucketNotFoundError('acme'), 404],
    [new TransientDestinationError(), 503],
    [new WrongRegionError('acme', 'eu-west-1', undefined), 400],
    [new EndpointUnreachableError('https://storage.example.com'), 400],
  ])('a destination that fails validation with %p answers %i with its code and message', (destinationError, status) => {
    expect(errorResponse(new DestinationValidationError(destinationError))).toEqual({
      status,
      body: { error: { code: destinationError.code, message: destinationError.message } },
      headers: {},
    });
  });

  test('any other error is a 500 that says nothing of it', () => {
    const response = errorResponse(new Error('ECONNRESET arn:aws:dynamodb:us-east-1:123456789012:table/Config'));
    expect(response).toEqual({
      status: 500,
      body: { error: { code: 'internal_error', message: 'Something went wrong on our side. Please try again.' } },
    });
    expect(errorResponse('a thrown string').status).toBe(500);
  });
});

test('each domain error names its class, for the logs', () => {
  const errors = [
    new ValidationError('x'),
    new UnauthorizedError('x'),
    new ForbiddenError('x'),
    new PlanRequiredError('Manual export', ['pro'], 'free'),
    new NotFoundError('x'),
    new ConflictError('x'),
  ];
  expect(errors.map((error) => error.name)).toEqual(errors.map((error) => error.constructor.name));
});
