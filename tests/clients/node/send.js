// Drives one official 2018 nexmo Node client against the mock, unchanged: SMS, Messenger text and image,
// Viber with a category, and a failover workflow (Messenger that is never delivered, then SMS).
// Usage: node send.js <nexmo-beta|nexmo-v01> <port> <private-key.pem> <application-id>
// Prints one JSON line per call: {"name", "error", "data"}; the error is the client's own
// ({body, statusCode} for HTTP errors).
"use strict";

const [pkg, port, privateKey, applicationId] = process.argv.slice(2);
const Nexmo = require(pkg);

// port != 443 makes the client speak plain http to host:port (reference section 8).
const nexmo = new Nexmo(
  { apiKey: "abcd1234", apiSecret: "s3cr3t", applicationId, privateKey },
  { host: "127.0.0.1", port: Number(port) },
);

const sms = (text) => [
  { type: "sms", number: "447700900000" },
  { type: "sms", number: "447700900001" },
  { content: { type: "text", text } },
];
const messenger = (to, content, options) => [
  { type: "messenger", id: to },
  { type: "messenger", id: "9876543210" },
  { content, ...options },
];
const viber = [
  { type: "viber_service_msg", number: "447700900000" },
  { type: "viber_service_msg", id: "viber-service-id" },
  { content: { type: "text", text: "Hi on Viber" }, viber_service_msg: { category: "transaction", ttl: 600 } },
];
const item = ([to, from, message], failover) => ({ to, from, message, ...(failover && { failover }) });
const failover = [
  item(messenger("magic-not-on-channel", { type: "text", text: "Hi on Messenger" }),
    { expiry_time: 600, condition_status: "read" }),
  item(sms("Hi by SMS")),
];

// 2.3.1-beta-1 has workflow.create (/beta/workflows); later betas renamed it dispatch.create (/v0.1/dispatch).
const startWorkflow = (template, workflow, callback) =>
  (nexmo.dispatch || nexmo.workflow).create(template, workflow, callback);

const calls = [
  ["sms", (cb) => nexmo.channel.send(...sms("Hello from nexmo-node"), cb)],
  ["messenger_text", (cb) => nexmo.channel.send(
    ...messenger("1234567890123456", { type: "text", text: "Hi on Messenger" },
      { messenger: { category: "message_tag", tag: "ticket_update" } }), cb)],
  ["messenger_image", (cb) => nexmo.channel.send(
    ...messenger("1234567890123456", { type: "image", image: { url: "https://example.com/cat.jpg" } }), cb)],
  ["viber", (cb) => nexmo.channel.send(...viber, cb)],
  ["failover", (cb) => startWorkflow("failover", failover, cb)],
];

const call = ([name, run]) => new Promise((resolve) => {
  run((error, data) => resolve({ name, error: error ? { body: error.body, statusCode: error.statusCode,
    message: error.message } : null, data }));
});

(async () => {
  for (const spec of calls) {
    console.log(JSON.stringify(await call(spec)));
  }
})();
