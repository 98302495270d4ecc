'use strict';
// What every generated Zapier app does the same way: the credential header, the error mapping,
// the request of each kind of trigger, search and create. index.js holds the data (fields, paths,
// samples) generated from the connector's declarations; this file is copied next to it unchanged.

const EMPTY = new Set(['', null, undefined]);

/** The service's URL for this connector: the URL variable when set (`zapier env:set`), else the
 * public URL the app was generated for. */
const baseUrl = (service) => {
  const root = process.env[service.urlVariable];
  return root ? `${root.replace(/\/+$/, '')}/${service.name}` : service.baseUrl;
};

/** A problem+json body as one sentence for the user: its detail, then each field's messages. */
const describeProblem = (response) => {
  let problem = {};
  try {
    problem = JSON.parse(response.content || '{}') || {};
  } catch (error) {
    problem = {};
  }
  const detail = problem.detail || problem.title || `The service answered ${response.status}.`;
  const fields = Object.entries(problem.errors || {}).map(
    ([field, messages]) => `${field}: ${[].concat(messages).join(' ')}`,
  );
  return { problem, message: fields.length ? `${detail} (${fields.join('; ')})` : detail };
};

/** Turns an error answer into the Zapier error that says what to do: 429 waits for Retry-After,
 * 401 asks the user to reconnect, any other problem shows its detail and field errors. */
const raiseForProblem = (z, response) => {
  if (response.status < 400) {
    return response;
  }
  const { problem, message } = describeProblem(response);
  if (response.status === 429) {
    const delay = parseInt(response.getHeader('retry-after'), 10);
    throw new z.errors.ThrottledError(message, Number.isFinite(delay) ? delay : 60);
  }
  if (response.status === 401) {
    throw new z.errors.ExpiredAuthError(message);
  }
  const code = problem.title ? problem.title.replace(/[^A-Za-z0-9]+/g, '') : `Http${response.status}`;
  throw new z.errors.Error(message, code, response.status);
};

/** afterResponse middleware: every answer goes through raiseForProblem unless the caller looks at
 * the status itself (skipThrowForStatus). */
const afterResponse = (response, z) =>
  response.skipThrowForStatus || (response.request && response.request.skipThrowForStatus)
    ? response
    : raiseForProblem(z, response);

/** What the user typed, in the body's shape: child fields lose their parent's prefix, JSON text
 * becomes the object it describes, comma-separated text in a line item becomes a list (of numbers
 * when the field holds numbers). Values are
 * otherwise sent as Zapier gives them ("" for an optional field left empty is "not sent" to the
 * service). */
const shaped = (value, shape) => {
  if (shape === 'json') {
    if (typeof value !== 'string' || value.trim() === '') return value;
    try {
      return JSON.parse(value);
    } catch (error) {
      return value; // the service names the field and the format expected
    }
  }
  if (typeof shape === 'string' && shape.startsWith('csv')) {
    if (typeof value !== 'string' || value === '') return value;
    if (value.trim().startsWith('[')) return shaped(value, 'json'); // values that hold commas
    const items = value.split(',').map((item) => item.trim()).filter((item) => item !== '');
    // numerals become numbers where the list holds numbers; anything else is left for the service to name
    return shape === 'csv' ? items : items.map((item) => (/^-?\d+(\.\d+)?$/.test(item) ? Number(item) : item));
  }
  if (shape && typeof shape === 'object') {
    if (typeof value === 'string' && value.trim().startsWith('[')) return shaped(value, 'json');
    if (!Array.isArray(value)) return value;
    return value.map((item) => (item && typeof item === 'object' ? shapeObject(item, shape) : item));
  }
  return value;
};

const shapeObject = (data, shapes = {}) => {
  const body = {};
  for (const [key, value] of Object.entries(data || {})) {
    const name = shapes.prefix && key.startsWith(shapes.prefix) ? key.slice(shapes.prefix.length) : key;
    body[name] = shaped(value, (shapes.fields || {})[name]);
  }
  return body;
};

/** The key of one run of a create: the Run ID the user mapped (the triggering item's id, say), in
 * the field the definition names (`runIdField`), with the Zap and the action, so that a replay of
 * that run is answered from its first result (kept 24 hours). No Run ID, no key: a key made from the
 * input alone would answer later runs with the same input from the first one, and their work would
 * be lost. */
const idempotencyKey = (z, bundle, definition) => {
  const run = definition.runIdField && (bundle.inputData || {})[definition.runIdField];
  if (EMPTY.has(run)) return undefined;
  const zap = (bundle.meta && bundle.meta.zap && bundle.meta.zap.id) || '';
  return z.hash('sha256', JSON.stringify([zap, definition.key, String(run)]));
};

const without = (data, field) => Object.fromEntries(Object.entries(data || {}).filter(([name]) => name !== field));

/** Query parameters from the input: empty values are left out of a query string. */
const query = (data) =>
  Object.fromEntries(Object.entries(data || {}).filter(([, value]) => !EMPTY.has(value)));

const service = (config) => {
  const url = (path) => `${baseUrl(config)}${path}`;
  const credential = config.credential;

  const addCredential = (request, z, bundle) => {
    const secret = bundle.authData && bundle.authData[credential.key];
    if (secret) {
      request.headers = { ...(request.headers || {}), [credential.header]: secret };
    }
    request.headers = { Accept: 'application/json', ...(request.headers || {}) };
    // a 429 goes through raiseForProblem too, which shows the service's detail
    request.throwForThrottlingEarly = false;
    return request;
  };

  const call = (z, endpoint, data, extra = {}) =>
    z.request({
      url: url(endpoint.path),
      method: endpoint.method,
      ...(endpoint.method === 'GET' ? { params: query(data) } : { json: data }),
      ...extra,
    });

  const authentication = (test) => ({
    type: 'custom',
    fields: [
      {
        key: credential.key,
        label: credential.label,
        helpText: credential.helpText,
        required: true,
        type: 'password',
      },
      {
        key: 'connection_name',
        label: 'Connection Name',
        helpText: 'A name to tell this connection from others (optional).',
        required: false,
      },
    ],
    // The credential is never shown: the label is the name the user chose, or the service's title.
    connectionLabel: (z, bundle) => bundle.authData.connection_name || config.title,
    // A cheap call: any answer but a rejected key (401/403) or a failure means the key works.
    test: async (z, bundle) => {
      const response = await call(z, test, test.body, { skipThrowForStatus: true });
      if (response.status === 401 || response.status === 403 || response.status === 429 || response.status >= 500) {
        throw new z.errors.Error(describeProblem(response).message, 'AuthenticationFailed', response.status);
      }
      return response.status === 404 ? {} : response.data;
    },
  });

  const operation = (definition, perform, extra = {}) => ({
    key: definition.key,
    noun: definition.noun,
    display: definition.display,
    operation: {
      inputFields: definition.inputFields,
      ...(definition.outputFields ? { outputFields: definition.outputFields } : {}),
      ...(definition.sample ? { sample: definition.sample } : {}),
      perform,
      ...extra,
    },
  });

  const create = (definition) =>
    operation(definition, async (z, bundle) => {
      const key = idempotencyKey(z, bundle, definition);
      const headers = key ? { 'Idempotency-Key': key } : {};
      const body = shapeObject(without(bundle.inputData, definition.runIdField), definition.shape);
      const response = await call(z, definition, body, { headers });
      return response.data;
    });

  /** A search gives full objects: the answer's list when it has one, else the answer itself;
   * nothing found (404 or an empty list) is []. */
  const search = (definition) =>
    operation(definition, async (z, bundle) => {
      const response = await call(z, definition, shapeObject(bundle.inputData, definition.shape), {
        skipThrowForStatus: true,
      });
      if (response.status === 404) return [];
      raiseForProblem(z, response);
      const data = response.data;
      return definition.collection ? data[definition.collection] || [] : [data];
    });

  /** Zapier wants an `id` on every item of a trigger: a dropdown's value is used when it has none. */
  const withId = (items, field) =>
    items.map((item) => (item.id === undefined && field ? { id: item[field], ...item } : item));

  const limited = (definition, bundle) => {
    const limit = bundle.meta && bundle.meta.limit;
    return definition.limit && Number.isInteger(limit) && limit > 0
      ? { limit: Math.min(limit, definition.limit) }
      : {};
  };

  /** The recent list's parameters: the inputs it takes, and how many items Zapier wants. */
  const recentQuery = (definition, bundle) => {
    const data = {};
    for (const name of definition.recentQuery || []) {
      data[name] = (bundle.inputData || {})[name];
    }
    return { ...query(data), ...limited(definition, bundle) };
  };

  /** Newest first, each with a stable id: Zapier deduplicates on it. */
  const pollingTrigger = (definition) =>
    operation(definition, async (z, bundle) => {
      const recent = { method: 'GET', path: definition.recentPath };
      const response = await call(z, recent, recentQuery(definition, bundle));
      return response.data;
    });

  const hookTrigger = (definition) =>
    operation(definition, async (z, bundle) => [bundle.cleanedRequest], {
      type: 'hook',
      performSubscribe: async (z, bundle) => {
        const body = { ...shapeObject(bundle.inputData, definition.shape), target_url: bundle.targetUrl };
        const response = await call(z, definition, body);
        return response.data;
      },
      performUnsubscribe: async (z, bundle) => {
        const id = encodeURIComponent(bundle.subscribeData.id);
        const response = await z.request({ url: url(`/subscriptions/${id}`), method: 'DELETE' });
        return response.status === 204 ? {} : response.data;
      },
      ...(definition.recentPath
        ? {
            performList: async (z, bundle) => {
              const recent = { method: 'GET', path: definition.recentPath };
              const response = await call(z, recent, recentQuery(definition, bundle));
              return response.data;
            },
          }
        : {}),
    });

  /** A hidden trigger that fills a dynamic dropdown from a lookup, given the fields it depends on. */
  const dropdown = (definition) =>
    operation(definition, async (z, bundle) => {
      const data = {};
      for (const [name, field] of Object.entries(definition.parameters || {})) {
        data[name] = bundle.inputData[field];
      }
      const response = await call(z, definition, data);
      const items = definition.collection ? response.data[definition.collection] || [] : response.data;
      return withId(items, definition.valueField);
    });

  return {
    authentication,
    beforeRequest: [addCredential],
    afterResponse: [afterResponse],
    create,
    search,
    pollingTrigger,
    hookTrigger,
    dropdown,
  };
};

module.exports = { service, shapeObject, describeProblem };
