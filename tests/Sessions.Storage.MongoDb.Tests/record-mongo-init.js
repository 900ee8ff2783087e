// Runs mongo-init.js (the path in argv[2]) against a stand-in for mongosh's `db` that records what the script asks
// for, and prints it as JSON: the database, each collection with its options (validator), and each index.
"use strict";
const fs = require("fs");
const vm = require("vm");

const recorded = { database: null, collections: [], indexes: [], commands: [] };
const existing = JSON.parse(process.argv[3] || "[]");
const database = {
  getSiblingDB(name) {
    recorded.database = name;
    return database;
  },
  getCollectionNames() {
    return [...existing];
  },
  createCollection(name, options) {
    existing.push(name);
    recorded.collections.push({ name, options });
    return { ok: 1 };
  },
  runCommand(command) {
    recorded.commands.push(command);
    return { ok: 1 };
  },
  getCollection(name) {
    return {
      createIndex(keys, options) {
        recorded.indexes.push({ collection: name, keys, options });
        return options.name;
      },
    };
  },
};

vm.runInNewContext(fs.readFileSync(process.argv[2], "utf8"), { db: database, process: { env: {} }, print() {}, printjson() {} });
process.stdout.write(JSON.stringify(recorded));
