// Sends one message with each client against the mock, whose faults make it answer an error; prints what each
// client hands back: nexmo-node's callback error ({statusCode, body}), @vonage/server-sdk's rejection (its message
// and the response status).
// Usage: node errors.js <port> <private-key.pem> <application-id>
"use strict";

const fs = require("fs");
const Nexmo = require("nexmo-beta");
const { Vonage } = require("@vonage/server-sdk");

const [port, privateKeyPath, applicationId] = process.argv.slice(2);
const credentials = { apiKey: "abcd1234", apiSecret: "s3cr3t", applicationId, privateKey: privateKeyPath };

const nexmo = new Nexmo(credentials, { host: "127.0.0.1", port: Number(port) });
const vonage = new Vonage({ ...credentials, privateKey: fs.readFileSync(privateKeyPath) },
  { apiHost: `http://127.0.0.1:${port}` });

const nexmoSend = () => new Promise((resolve) => {
  nexmo.channel.send({ type: "sms", number: "447700900000" }, { type: "sms", number: "447700900001" },
    { content: { type: "text", text: "Hello" } },
    (error, data) => resolve({ name: "nexmo-node", error: error ? { statusCode: error.statusCode,
      body: error.body, message: error.message } : null, data }));
});

const vonageSend = async () => {
  try {
    const data = await vonage.messages.send({ channel: "sms", messageType: "text", to: "447700900000",
      from: "447700900001", text: "Hello" });
    return { name: "@vonage/server-sdk", error: null, data };
  } catch (error) {
    return { name: "@vonage/server-sdk", error: { message: error.message,
      status: error.response ? error.response.status : null } };
  }
};

(async () => {
  console.log(JSON.stringify(await nexmoSend()));
  console.log(JSON.stringify(await vonageSend()));
})();
