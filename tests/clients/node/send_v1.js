// Drives @vonage/server-sdk 3.30 against the mock's /v1, unchanged: one message of each channel (WhatsApp as a
// free-form text and as a template), then updateMessage: an inbound WhatsApp message marked read, and an unknown
// uuid (the client rejects with the 404).
// Usage: node send_v1.js <port> <private-key.pem> <application-id> <inbound-whatsapp-uuid>
// Prints one JSON line per call: {"name", "error", "data"}; the error is {message, status}.
"use strict";

const fs = require("fs");
const { Vonage } = require("@vonage/server-sdk");

const [port, privateKeyPath, applicationId, inboundUuid] = process.argv.slice(2);
const vonage = new Vonage({ applicationId, privateKey: fs.readFileSync(privateKeyPath) },
  { apiHost: `http://127.0.0.1:${port}` });

const user = "447700900000";
const business = "447700900001";
const image = { url: "https://example.com/cat.jpg" };
const messages = [
  ["sms", { channel: "sms", messageType: "text", to: user, from: business, text: "Hello", clientRef: "node-1" }],
  ["mms", { channel: "mms", messageType: "image", to: user, from: business, image: { ...image, caption: "A cat" } }],
  ["rcs", { channel: "rcs", messageType: "text", to: user, from: "Vonage", text: "Pick one",
    suggestions: [{ type: "reply", text: "Yes", postbackData: "yes" }] }],
  ["whatsapp", { channel: "whatsapp", messageType: "text", to: user, from: business, text: "Hi on WhatsApp" }],
  ["whatsapp_template", { channel: "whatsapp", messageType: "template", to: user, from: business,
    template: { name: "ns:verify", parameters: ["1234"] }, whatsapp: { policy: "deterministic", locale: "en_GB" } }],
  ["messenger", { channel: "messenger", messageType: "image", to: "1234567890123456", from: "9876543210", image,
    messenger: { category: "response" } }],
  ["viber_service", { channel: "viber_service", messageType: "text", to: user, from: "16273", text: "Hi on Viber",
    viberService: { category: "transaction", ttl: 600 } }],
];

const attempt = async (name, run) => {
  try {
    return { name, error: null, data: await run() };
  } catch (error) {
    return { name, error: { message: error.message, status: error.response ? error.response.status : null } };
  }
};

(async () => {
  for (const [name, message] of messages) {
    console.log(JSON.stringify(await attempt(name, () => vonage.messages.send(message))));
  }
  console.log(JSON.stringify(await attempt("read", () => vonage.messages.updateMessage(inboundUuid, "read",
    { typingIndicator: "text" }))));
  console.log(JSON.stringify(await attempt("unknown", () => vonage.messages.updateMessage(
    "aaaaaaaa-bbbb-cccc-dddd-0123456789ab", "read"))));
})();
