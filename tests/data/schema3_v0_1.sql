-- A database written by asolora_core 0.1 (schema 3): one checkout of two vendors, a
-- shipped, delivered, confirmed, released and partly refunded order, a payout, a
-- conversation, idempotency records and delivered notifications. Made once by the released
-- code; upgrade tests load it and open it with the current SqliteStore.
BEGIN TRANSACTION;
CREATE TABLE conversation_messages (
        conversation_id TEXT NOT NULL REFERENCES conversations (conversation_id),
        seq INTEGER NOT NULL CHECK (seq >= 1),
        message_id TEXT NOT NULL UNIQUE,
        at INTEGER NOT NULL,
        body TEXT NOT NULL,
        PRIMARY KEY (conversation_id, seq)
    ) WITHOUT ROWID;
INSERT INTO "conversation_messages" VALUES('cv-000019',1,'m-000020',1773050400000000,'{"message_id":"m-000020","conversation_id":"cv-000019","seq":1,"sender":{"kind":"buyer","id":"b-1"},"at":"2026-03-09T10:00:00+00:00","text":"Thanks, lovely mugs!","attachments":[],"flagged":false,"redacted":false,"findings":[],"awaited_since":null}');
CREATE TABLE conversations (
        conversation_id TEXT PRIMARY KEY,
        version INTEGER NOT NULL CHECK (version >= 1),
        vendor_id TEXT NOT NULL,
        buyer_id TEXT NOT NULL,
        order_id TEXT,
        last_activity_at INTEGER NOT NULL,
        first_awaited_at INTEGER,
        body TEXT NOT NULL
    );
INSERT INTO "conversations" VALUES('cv-000019',2,'v-1','b-1',NULL,1773050400000000,1773050400000000,'{"conversation_id":"cv-000019","version":2,"vendor_id":"v-1","buyer_id":"b-1","order_id":null,"started_by":{"kind":"buyer","id":"b-1"},"started_at":"2026-03-09T10:00:00+00:00","last_activity_at":"2026-03-09T10:00:00+00:00","message_count":1,"vendor_read_seq":0,"buyer_read_seq":1,"vendor_unread":1,"buyer_unread":0,"awaiting_since":"2026-03-09T10:00:00+00:00","first_awaited_at":"2026-03-09T10:00:00+00:00","first_response_at":null}');
CREATE TABLE events (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        aggregate_id TEXT NOT NULL,
        type TEXT NOT NULL,
        at INTEGER NOT NULL,
        body TEXT NOT NULL
    );
INSERT INTO "events" VALUES(1,'v-1','VendorRegistered',1772442000000000,'{"aggregate_id":"v-1","at":"2026-03-02T09:00:00+00:00","actor":{"kind":"staff","id":"s-1"},"payout_currency":"GBP","vendor_name":""}');
INSERT INTO "events" VALUES(2,'o-000002','OrderPlaced',1772442000000000,'{"aggregate_id":"o-000002","at":"2026-03-02T09:00:00+00:00","actor":{"kind":"buyer","id":"b-1"},"checkout_id":"c-000001","vendor_id":"v-1","buyer_id":"b-1","currency":"EUR","paid_minor":3600}');
INSERT INTO "events" VALUES(3,'o-000003','OrderPlaced',1772442000000000,'{"aggregate_id":"o-000003","at":"2026-03-02T09:00:00+00:00","actor":{"kind":"buyer","id":"b-1"},"checkout_id":"c-000001","vendor_id":"v-2","buyer_id":"b-1","currency":"EUR","paid_minor":500}');
INSERT INTO "events" VALUES(4,'o-000002','ShipmentCreated',1772442000000000,'{"aggregate_id":"o-000002","at":"2026-03-02T09:00:00+00:00","actor":{"kind":"vendor","id":"v-1"},"shipment_id":"s-000008","carrier":"DHL","tracking_number":"JD1","items":[["l-000004",2]]}');
INSERT INTO "events" VALUES(5,'o-000002','ShipmentDelivered',1772442000000000,'{"aggregate_id":"o-000002","at":"2026-03-02T09:00:00+00:00","actor":{"kind":"vendor","id":"v-1"},"shipment_id":"s-000008"}');
INSERT INTO "events" VALUES(6,'o-000002','ReceiptConfirmed',1772442000000000,'{"aggregate_id":"o-000002","at":"2026-03-02T09:00:00+00:00","actor":{"kind":"buyer","id":"b-1"},"shipment_id":"s-000008","automatic":false}');
INSERT INTO "events" VALUES(7,'o-000002','OrderCompleted',1772442000000000,'{"aggregate_id":"o-000002","at":"2026-03-02T09:00:00+00:00","actor":{"kind":"system","id":"system"}}');
INSERT INTO "events" VALUES(8,'o-000002','ProceedsHeld',1772442000000000,'{"aggregate_id":"o-000002","at":"2026-03-02T09:00:00+00:00","actor":{"kind":"system","id":"system"},"vendor_id":"v-1","currency":"EUR","held_minor":3240,"commission_minor":360,"processing_fee_minor":0,"release_at":"2026-03-09T09:00:00+00:00"}');
INSERT INTO "events" VALUES(9,'o-000002','ProceedsReleased',1773050400000000,'{"aggregate_id":"o-000002","at":"2026-03-09T10:00:00+00:00","actor":{"kind":"system","id":"system"},"vendor_id":"v-1","currency":"GBP","amount_minor":2786,"offset_minor":0,"seq":4}');
INSERT INTO "events" VALUES(10,'o-000002','RefundIssued',1773050400000000,'{"aggregate_id":"o-000002","at":"2026-03-09T10:00:00+00:00","actor":{"kind":"vendor","id":"v-1"},"refund_id":"r-000015","amount_minor":600,"currency":"EUR","shipping_minor":0,"items":[],"before_shipping":false,"issue_id":null,"reason":""}');
INSERT INTO "events" VALUES(11,'o-000002','RefundDebited',1773050400000000,'{"aggregate_id":"o-000002","at":"2026-03-09T10:00:00+00:00","actor":{"kind":"vendor","id":"v-1"},"vendor_id":"v-1","refund_id":"r-000015","currency":"GBP","amount_minor":516,"seq":5}');
INSERT INTO "events" VALUES(12,'v-1','PayoutPaid',1773050400000000,'{"aggregate_id":"v-1","at":"2026-03-09T10:00:00+00:00","actor":{"kind":"system","id":"system"},"payout_id":"p-000017","currency":"GBP","amount_minor":2270,"seq":6}');
INSERT INTO "events" VALUES(13,'cv-000019','ConversationStarted',1773050400000000,'{"aggregate_id":"cv-000019","at":"2026-03-09T10:00:00+00:00","actor":{"kind":"buyer","id":"b-1"},"vendor_id":"v-1","buyer_id":"b-1","order_id":null}');
INSERT INTO "events" VALUES(14,'cv-000019','MessagePosted',1773050400000000,'{"aggregate_id":"cv-000019","at":"2026-03-09T10:00:00+00:00","actor":{"kind":"buyer","id":"b-1"},"message_id":"m-000020","seq":1,"attachments":0,"response_ms":null}');
CREATE TABLE idempotency (
        scope TEXT NOT NULL,
        key TEXT NOT NULL,
        body TEXT NOT NULL,
        PRIMARY KEY (scope, key)
    );
INSERT INTO "idempotency" VALUES('buyer:b-1','checkout-1','{"command":"place_checkout","arguments":{"customer_name":"\"Ada Lovelace\"","items":"[{\"policy\": {\"buyer_pays_return_shipping\": true, \"condition\": \"\", \"exchanges_accepted\": false, \"restocking_fee_bp\": 0, \"returns_accepted\": false, \"text\": \"\", \"window_days\": 0}, \"product_id\": \"mug\", \"quantity\": 2, \"title\": \"\", \"unit_price\": \"18.00 EUR\", \"vendor_id\": \"v-1\"}, {\"policy\": {\"buyer_pays_return_shipping\": true, \"condition\": \"\", \"exchanges_accepted\": false, \"restocking_fee_bp\": 0, \"returns_accepted\": false, \"text\": \"\", \"window_days\": 0}, \"product_id\": \"tea\", \"quantity\": 1, \"title\": \"\", \"unit_price\": \"5.00 EUR\", \"vendor_id\": \"v-2\"}]","paid":"\"41.00 EUR\"","shipping":"{}"},"result":{"$list":[{"$type":"Order","value":{"order_id":"o-000002","version":1,"checkout_id":"c-000001","vendor_id":"v-1","buyer_id":"b-1","customer_name":"Ada Lovelace","currency":"EUR","lines":[{"line_id":"l-000004","product_id":"mug","title":"mug","quantity":2,"unit_price_minor":1800,"paid_minor":3600,"policy":{"returns_accepted":false,"exchanges_accepted":false,"window_days":0,"buyer_pays_return_shipping":true,"restocking_fee_bp":0,"condition":"","text":""},"cancelled":0,"refunded_quantity":0}],"shipping_paid_minor":0,"paid_minor":3600,"placed_at":"2026-03-02T09:00:00+00:00","status":"processing","shipments":[],"issues":[],"refunds":[],"completed_at":null,"cancelled_at":null}},{"$type":"Order","value":{"order_id":"o-000003","version":1,"checkout_id":"c-000001","vendor_id":"v-2","buyer_id":"b-1","customer_name":"Ada Lovelace","currency":"EUR","lines":[{"line_id":"l-000005","product_id":"tea","title":"tea","quantity":1,"unit_price_minor":500,"paid_minor":500,"policy":{"returns_accepted":false,"exchanges_accepted":false,"window_days":0,"buyer_pays_return_shipping":true,"restocking_fee_bp":0,"condition":"","text":""},"cancelled":0,"refunded_quantity":0}],"shipping_paid_minor":0,"paid_minor":500,"placed_at":"2026-03-02T09:00:00+00:00","status":"processing","shipments":[],"issues":[],"refunds":[],"completed_at":null,"cancelled_at":null}}]},"error":null,"at":"2026-03-02T09:00:00+00:00"}');
CREATE TABLE ledger_entries (
        seq INTEGER NOT NULL REFERENCES ledger_txns (seq),
        n INTEGER NOT NULL CHECK (n >= 0),
        account TEXT NOT NULL,
        vendor_id TEXT,
        kind TEXT NOT NULL,
        currency TEXT NOT NULL CHECK (length(currency) = 3),
        amount_minor INTEGER NOT NULL CHECK (amount_minor <> 0),
        PRIMARY KEY (seq, n)
    ) WITHOUT ROWID;
INSERT INTO "ledger_entries" VALUES(1,0,'platform:buyer_funds',NULL,'buyer_funds','EUR',3600);
INSERT INTO "ledger_entries" VALUES(1,1,'vendor:v-1:held','v-1','held','EUR',-3600);
INSERT INTO "ledger_entries" VALUES(2,0,'platform:buyer_funds',NULL,'buyer_funds','EUR',500);
INSERT INTO "ledger_entries" VALUES(2,1,'vendor:v-2:held','v-2','held','EUR',-500);
INSERT INTO "ledger_entries" VALUES(3,0,'vendor:v-1:held','v-1','held','EUR',360);
INSERT INTO "ledger_entries" VALUES(3,1,'platform:commission',NULL,'commission','EUR',-360);
INSERT INTO "ledger_entries" VALUES(4,0,'vendor:v-1:held','v-1','held','EUR',3240);
INSERT INTO "ledger_entries" VALUES(4,1,'platform:fx_position',NULL,'fx_position','EUR',-3240);
INSERT INTO "ledger_entries" VALUES(4,2,'platform:fx_position',NULL,'fx_position','GBP',2786);
INSERT INTO "ledger_entries" VALUES(4,3,'vendor:v-1:balance','v-1','balance','GBP',-2786);
INSERT INTO "ledger_entries" VALUES(5,0,'platform:buyer_funds',NULL,'buyer_funds','EUR',-600);
INSERT INTO "ledger_entries" VALUES(5,1,'platform:fx_position',NULL,'fx_position','EUR',600);
INSERT INTO "ledger_entries" VALUES(5,2,'platform:fx_position',NULL,'fx_position','GBP',-516);
INSERT INTO "ledger_entries" VALUES(5,3,'vendor:v-1:balance','v-1','balance','GBP',516);
INSERT INTO "ledger_entries" VALUES(6,0,'vendor:v-1:balance','v-1','balance','GBP',2270);
INSERT INTO "ledger_entries" VALUES(6,1,'vendor:v-1:paid_out','v-1','paid_out','GBP',-2270);
CREATE TABLE ledger_holds (
        order_id TEXT PRIMARY KEY,
        version INTEGER NOT NULL CHECK (version >= 1),
        vendor_id TEXT NOT NULL,
        released INTEGER NOT NULL CHECK (released IN (0, 1)),
        body TEXT NOT NULL
    );
INSERT INTO "ledger_holds" VALUES('o-000002',4,'v-1',1,'{"cancelled":false,"chargebacks":[],"commission_base_minor":3600,"commission_minor":360,"completed_at":"2026-03-02T09:00:00+00:00","currency":"EUR","frozen":false,"frozen_reason":"","order_id":"o-000002","paid_minor":3600,"payout_currency":"GBP","placed_at":"2026-03-02T09:00:00+00:00","processing_fee_minor":0,"refunded_before_release_minor":0,"refunded_minor":600,"release_at":"2026-03-09T09:00:00+00:00","released_at":"2026-03-09T10:00:00+00:00","released_minor":2786,"vendor_id":"v-1","version":4}');
INSERT INTO "ledger_holds" VALUES('o-000003',1,'v-2',0,'{"cancelled":false,"chargebacks":[],"commission_base_minor":null,"commission_minor":0,"completed_at":null,"currency":"EUR","frozen":false,"frozen_reason":"","order_id":"o-000003","paid_minor":500,"payout_currency":null,"placed_at":"2026-03-02T09:00:00+00:00","processing_fee_minor":0,"refunded_before_release_minor":0,"refunded_minor":0,"release_at":null,"released_at":null,"released_minor":null,"vendor_id":"v-2","version":1}');
CREATE TABLE ledger_payouts (
        payout_id TEXT PRIMARY KEY,
        vendor_id TEXT NOT NULL,
        currency TEXT NOT NULL,
        seq INTEGER NOT NULL UNIQUE REFERENCES ledger_txns (seq),
        amount_minor INTEGER NOT NULL CHECK (amount_minor > 0),
        body TEXT NOT NULL
    );
INSERT INTO "ledger_payouts" VALUES('p-000017','v-1','GBP',6,2270,'{"amount_minor":2270,"at":"2026-03-09T10:00:00+00:00","currency":"GBP","payout_id":"p-000017","seq":6,"statement":{"closing_minor":0,"currency":"GBP","from_seq":0,"lines":[{"amount_minor":2786,"at":"2026-03-09T10:00:00+00:00","commission_minor":360,"conversion_fee_minor":0,"converted_minor":2786,"gross_minor":3600,"kind":"release","offset_minor":0,"order_currency":"EUR","order_id":"o-000002","proceeds_minor":3240,"processing_fee_minor":0,"rate":"0.8600","rate_as_of":"2026-03-02T09:00:00+00:00","rate_source":"fixed","ref":null,"seq":4},{"amount_minor":-516,"at":"2026-03-09T10:00:00+00:00","commission_minor":0,"conversion_fee_minor":0,"converted_minor":516,"gross_minor":600,"kind":"refund","offset_minor":0,"order_currency":"EUR","order_id":"o-000002","proceeds_minor":0,"processing_fee_minor":0,"rate":"0.8600","rate_as_of":"2026-03-02T09:00:00+00:00","rate_source":"fixed","ref":"r-000015","seq":5}],"opening_minor":0,"paid_minor":2270,"to_seq":5,"vendor_id":"v-1"},"vendor_id":"v-1"}');
CREATE TABLE ledger_txns (
        seq INTEGER PRIMARY KEY CHECK (seq >= 1),
        key TEXT NOT NULL UNIQUE,
        kind TEXT NOT NULL
            CHECK (kind IN ('capture', 'fees', 'refund', 'release', 'chargeback', 'payout')),
        at INTEGER NOT NULL,
        vendor_id TEXT NOT NULL,
        order_id TEXT,
        ref TEXT,
        memo TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL UNIQUE
    );
INSERT INTO "ledger_txns" VALUES(1,'capture:o-000002','capture',1772442000000000,'v-1','o-000002',NULL,'{"paid":"3600"}','0000000000000000000000000000000000000000000000000000000000000000','27395a3b1e0fc6fe4099bd4b80988db6722364c596ced135dc324a60246b8bd6');
INSERT INTO "ledger_txns" VALUES(2,'capture:o-000003','capture',1772442000000000,'v-2','o-000003',NULL,'{"paid":"500"}','27395a3b1e0fc6fe4099bd4b80988db6722364c596ced135dc324a60246b8bd6','bb479150c7d9cdff0fc7a1809948834a41df419924621d4e3231c1684050dbbe');
INSERT INTO "ledger_txns" VALUES(3,'fees:o-000002','fees',1772442000000000,'v-1','o-000002',NULL,'{"commission":"360","processing_fee":"0"}','bb479150c7d9cdff0fc7a1809948834a41df419924621d4e3231c1684050dbbe','01c5b62e40faf3bb5a876652066f8003c2c2db1b8970b45d2726d2e80c67d79c');
INSERT INTO "ledger_txns" VALUES(4,'release:o-000002','release',1773050400000000,'v-1','o-000002',NULL,'{"commission":"360","conversion_fee":"0","converted":"2786","gross":"3600","offset":"0","order_currency":"EUR","payout_currency":"GBP","proceeds":"3240","processing_fee":"0","rate":"0.8600","rate_as_of":"2026-03-02T09:00:00+00:00","rate_source":"fixed"}','01c5b62e40faf3bb5a876652066f8003c2c2db1b8970b45d2726d2e80c67d79c','dbf326be7bffb4e6425124d8d6aa228647b5f2bee72c7f3c98ac6e59374c613d');
INSERT INTO "ledger_txns" VALUES(5,'refund:r-000015','refund',1773050400000000,'v-1','o-000002','r-000015','{"conversion_fee":"0","converted":"516","gross":"600","order_currency":"EUR","payout_currency":"GBP","processing_fee":"0","rate":"0.8600","rate_as_of":"2026-03-02T09:00:00+00:00","rate_source":"fixed"}','dbf326be7bffb4e6425124d8d6aa228647b5f2bee72c7f3c98ac6e59374c613d','a5641e80351305d73ea9f21d06ce7fa2dc11a8a47b3d9e441661a208a246caeb');
INSERT INTO "ledger_txns" VALUES(6,'payout:v-1:GBP:after:5','payout',1773050400000000,'v-1',NULL,'p-000017','{"amount":"2270"}','a5641e80351305d73ea9f21d06ce7fa2dc11a8a47b3d9e441661a208a246caeb','db6ed24b687c7ef0a4ab5d09628ddf9debe837dac368520c55e66ee94da4955c');
CREATE TABLE ledger_vendors (
        vendor_id TEXT PRIMARY KEY,
        version INTEGER NOT NULL CHECK (version >= 1),
        payout_currency TEXT NOT NULL CHECK (length(payout_currency) = 3),
        body TEXT NOT NULL
    );
INSERT INTO "ledger_vendors" VALUES('v-1',1,'GBP','{"name":"","payout_currency":"GBP","registered_at":"2026-03-02T09:00:00+00:00","timezone":"UTC","updated_at":"2026-03-02T09:00:00+00:00","vendor_id":"v-1","version":1}');
CREATE TABLE orders (
        order_id TEXT PRIMARY KEY,
        version INTEGER NOT NULL CHECK (version >= 1),
        checkout_id TEXT NOT NULL,
        vendor_id TEXT NOT NULL,
        buyer_id TEXT NOT NULL,
        customer_key TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('processing', 'completed', 'cancelled')),
        currency TEXT NOT NULL,
        placed_at INTEGER NOT NULL,
        completed_at INTEGER,
        body TEXT NOT NULL
    );
INSERT INTO "orders" VALUES('o-000002',5,'c-000001','v-1','b-1','ada lovelace','completed','EUR',1772442000000000,1772442000000000,'{"order_id":"o-000002","version":5,"checkout_id":"c-000001","vendor_id":"v-1","buyer_id":"b-1","customer_name":"Ada Lovelace","currency":"EUR","lines":[{"line_id":"l-000004","product_id":"mug","title":"mug","quantity":2,"unit_price_minor":1800,"paid_minor":3600,"policy":{"returns_accepted":false,"exchanges_accepted":false,"window_days":0,"buyer_pays_return_shipping":true,"restocking_fee_bp":0,"condition":"","text":""},"cancelled":0,"refunded_quantity":0}],"shipping_paid_minor":0,"paid_minor":3600,"placed_at":"2026-03-02T09:00:00+00:00","status":"completed","shipments":[{"shipment_id":"s-000008","items":[["l-000004",2]],"status":"confirmed","shipped_at":"2026-03-02T09:00:00+00:00","tracking":[{"at":"2026-03-02T09:00:00+00:00","carrier":"DHL","tracking_number":"JD1","note":""}],"delivered_at":"2026-03-02T09:00:00+00:00","confirmed_at":"2026-03-02T09:00:00+00:00","confirmed_automatically":false,"replacement_for":null}],"issues":[],"refunds":[{"refund_id":"r-000015","amount_minor":600,"shipping_minor":0,"items":[],"before_shipping":false,"reason":"","issue_id":null,"at":"2026-03-09T10:00:00+00:00"}],"completed_at":"2026-03-02T09:00:00+00:00","cancelled_at":null}');
INSERT INTO "orders" VALUES('o-000003',1,'c-000001','v-2','b-1','ada lovelace','processing','EUR',1772442000000000,NULL,'{"order_id":"o-000003","version":1,"checkout_id":"c-000001","vendor_id":"v-2","buyer_id":"b-1","customer_name":"Ada Lovelace","currency":"EUR","lines":[{"line_id":"l-000005","product_id":"tea","title":"tea","quantity":1,"unit_price_minor":500,"paid_minor":500,"policy":{"returns_accepted":false,"exchanges_accepted":false,"window_days":0,"buyer_pays_return_shipping":true,"restocking_fee_bp":0,"condition":"","text":""},"cancelled":0,"refunded_quantity":0}],"shipping_paid_minor":0,"paid_minor":500,"placed_at":"2026-03-02T09:00:00+00:00","status":"processing","shipments":[],"issues":[],"refunds":[],"completed_at":null,"cancelled_at":null}');
CREATE TABLE outbox (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        message_id TEXT NOT NULL UNIQUE,
        state TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
        next_attempt_at INTEGER NOT NULL,
        body TEXT NOT NULL
    );
INSERT INTO "outbox" VALUES(1,'n-000006','delivered',1772442000000000,'{"message_id":"n-000006","notification":{"recipient":{"kind":"vendor","id":"v-1"},"kind":"order.placed","subject_id":"o-000002","text":"New order o-000002: start preparing it for shipment.","event_at":"2026-03-02T09:00:00+00:00"},"created_at":"2026-03-02T09:00:00+00:00","attempts":1,"next_attempt_at":"2026-03-02T09:00:00+00:00","delivered_at":"2026-03-09T10:00:00+00:00","failed":false,"last_error":""}');
INSERT INTO "outbox" VALUES(2,'n-000007','delivered',1772442000000000,'{"message_id":"n-000007","notification":{"recipient":{"kind":"vendor","id":"v-2"},"kind":"order.placed","subject_id":"o-000003","text":"New order o-000003: start preparing it for shipment.","event_at":"2026-03-02T09:00:00+00:00"},"created_at":"2026-03-02T09:00:00+00:00","attempts":1,"next_attempt_at":"2026-03-02T09:00:00+00:00","delivered_at":"2026-03-09T10:00:00+00:00","failed":false,"last_error":""}');
INSERT INTO "outbox" VALUES(3,'n-000009','delivered',1772442000000000,'{"message_id":"n-000009","notification":{"recipient":{"kind":"buyer","id":"b-1"},"kind":"shipment.created","subject_id":"o-000002","text":"Your order o-000002 has shipped.","event_at":"2026-03-02T09:00:00+00:00"},"created_at":"2026-03-02T09:00:00+00:00","attempts":1,"next_attempt_at":"2026-03-02T09:00:00+00:00","delivered_at":"2026-03-09T10:00:00+00:00","failed":false,"last_error":""}');
INSERT INTO "outbox" VALUES(4,'n-000010','delivered',1772442000000000,'{"message_id":"n-000010","notification":{"recipient":{"kind":"buyer","id":"b-1"},"kind":"shipment.delivered","subject_id":"o-000002","text":"Order o-000002 was delivered: please confirm Order Received if it matches the listing.","event_at":"2026-03-02T09:00:00+00:00"},"created_at":"2026-03-02T09:00:00+00:00","attempts":1,"next_attempt_at":"2026-03-02T09:00:00+00:00","delivered_at":"2026-03-09T10:00:00+00:00","failed":false,"last_error":""}');
INSERT INTO "outbox" VALUES(5,'n-000011','delivered',1772442000000000,'{"message_id":"n-000011","notification":{"recipient":{"kind":"vendor","id":"v-1"},"kind":"shipment.confirmed","subject_id":"o-000002","text":"The buyer confirmed receipt on o-000002.","event_at":"2026-03-02T09:00:00+00:00"},"created_at":"2026-03-02T09:00:00+00:00","attempts":1,"next_attempt_at":"2026-03-02T09:00:00+00:00","delivered_at":"2026-03-09T10:00:00+00:00","failed":false,"last_error":""}');
INSERT INTO "outbox" VALUES(6,'n-000012','delivered',1772442000000000,'{"message_id":"n-000012","notification":{"recipient":{"kind":"vendor","id":"v-1"},"kind":"order.completed","subject_id":"o-000002","text":"Order o-000002 is completed.","event_at":"2026-03-02T09:00:00+00:00"},"created_at":"2026-03-02T09:00:00+00:00","attempts":1,"next_attempt_at":"2026-03-02T09:00:00+00:00","delivered_at":"2026-03-09T10:00:00+00:00","failed":false,"last_error":""}');
INSERT INTO "outbox" VALUES(7,'n-000013','delivered',1772442000000000,'{"message_id":"n-000013","notification":{"recipient":{"kind":"buyer","id":"b-1"},"kind":"order.completed","subject_id":"o-000002","text":"Order o-000002 is completed.","event_at":"2026-03-02T09:00:00+00:00"},"created_at":"2026-03-02T09:00:00+00:00","attempts":1,"next_attempt_at":"2026-03-02T09:00:00+00:00","delivered_at":"2026-03-09T10:00:00+00:00","failed":false,"last_error":""}');
INSERT INTO "outbox" VALUES(8,'n-000014','delivered',1773050400000000,'{"message_id":"n-000014","notification":{"recipient":{"kind":"vendor","id":"v-1"},"kind":"proceeds.released","subject_id":"o-000002","text":"The proceeds of order o-000002 were released: 27.86 GBP.","event_at":"2026-03-09T10:00:00+00:00"},"created_at":"2026-03-09T10:00:00+00:00","attempts":1,"next_attempt_at":"2026-03-09T10:00:00+00:00","delivered_at":"2026-03-09T10:00:00+00:00","failed":false,"last_error":""}');
INSERT INTO "outbox" VALUES(9,'n-000016','delivered',1773050400000000,'{"message_id":"n-000016","notification":{"recipient":{"kind":"buyer","id":"b-1"},"kind":"refund.issued","subject_id":"o-000002","text":"A refund was issued on order o-000002.","event_at":"2026-03-09T10:00:00+00:00"},"created_at":"2026-03-09T10:00:00+00:00","attempts":1,"next_attempt_at":"2026-03-09T10:00:00+00:00","delivered_at":"2026-03-09T10:00:00+00:00","failed":false,"last_error":""}');
INSERT INTO "outbox" VALUES(10,'n-000018','delivered',1773050400000000,'{"message_id":"n-000018","notification":{"recipient":{"kind":"vendor","id":"v-1"},"kind":"payout.paid","subject_id":"p-000017","text":"A payout of 22.70 GBP is on its way to you.","event_at":"2026-03-09T10:00:00+00:00"},"created_at":"2026-03-09T10:00:00+00:00","attempts":1,"next_attempt_at":"2026-03-09T10:00:00+00:00","delivered_at":"2026-03-09T10:00:00+00:00","failed":false,"last_error":""}');
INSERT INTO "outbox" VALUES(11,'n-000021','delivered',1773050400000000,'{"message_id":"n-000021","notification":{"recipient":{"kind":"vendor","id":"v-1"},"kind":"message.posted","subject_id":"cv-000019","text":"New message from the buyer in conversation cv-000019.","event_at":"2026-03-09T10:00:00+00:00"},"created_at":"2026-03-09T10:00:00+00:00","attempts":1,"next_attempt_at":"2026-03-09T10:00:00+00:00","delivered_at":"2026-03-09T10:00:00+00:00","failed":false,"last_error":""}');
CREATE TABLE timers (
        timer_id TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        due_at INTEGER NOT NULL,
        body TEXT NOT NULL
    );
CREATE INDEX orders_checkout ON orders (checkout_id);
CREATE INDEX orders_vendor ON orders (vendor_id, placed_at);
CREATE INDEX orders_customer ON orders (vendor_id, customer_key, placed_at);
CREATE INDEX events_aggregate ON events (aggregate_id, seq);
CREATE INDEX outbox_due ON outbox (state, next_attempt_at, seq);
CREATE INDEX timers_due ON timers (due_at, timer_id);
CREATE UNIQUE INDEX conversations_pair
        ON conversations (vendor_id, buyer_id, coalesce(order_id, ''));
CREATE INDEX conversations_vendor_activity
        ON conversations (vendor_id, last_activity_at, conversation_id);
CREATE INDEX conversations_buyer_activity
        ON conversations (buyer_id, last_activity_at, conversation_id);
CREATE INDEX conversations_vendor_awaited
        ON conversations (vendor_id, first_awaited_at) WHERE first_awaited_at IS NOT NULL;
CREATE INDEX ledger_txns_order ON ledger_txns (order_id) WHERE order_id IS NOT NULL;
CREATE INDEX ledger_entries_vendor
        ON ledger_entries (vendor_id, currency, kind, seq, amount_minor)
        WHERE vendor_id IS NOT NULL;
CREATE INDEX ledger_entries_account ON ledger_entries (account, currency, amount_minor);
CREATE INDEX ledger_holds_vendor ON ledger_holds (vendor_id, order_id);
CREATE INDEX ledger_payouts_vendor ON ledger_payouts (vendor_id, currency, seq);
DELETE FROM "sqlite_sequence";
INSERT INTO "sqlite_sequence" VALUES('events',14);
INSERT INTO "sqlite_sequence" VALUES('outbox',11);
COMMIT;
PRAGMA user_version = 3;
