// Swagger UI on the connector's OpenAPI document, sending its requests to this very service
// (whatever PUBLIC_URL the document names) and with the key of the console, if one was given.
(async function () {
  "use strict";
  const node = document.getElementById("explorer");
  const spec = await (await fetch(node.dataset.spec, { headers: { Accept: "application/json" } })).json();
  spec.servers = [{ url: location.origin + node.dataset.base, description: "This service" }];
  const ui = SwaggerUIBundle({
    spec: spec,
    domNode: node,
    deepLinking: true,
    defaultModelsExpandDepth: 0,
    validatorUrl: null, // no badge fetched from an online validator: the page works offline
  });
  const schemes = (spec.components && spec.components.securitySchemes) || {};
  const scheme = Object.keys(schemes).find((name) => schemes[name].type === "apiKey");
  const key = sessionStorage.getItem(node.dataset.keyStorage);
  if (scheme && key) ui.preauthorizeApiKey(scheme, key);
})();
