-- An encrypted device store as the engine made it before row MACs (commit 9ba1020; the
-- engine did not change from there to the commit before 5551653), dumped with
-- `sqlite3 FILE .dump`. Passphrase
-- "lama-sebelum-mac"; schema: schema/enrolment.schema.json of that commit (monthly_income
-- and position not yet personal, so they are in records.doc in clear). Made by a program
-- linked to that commit's engine, which wrote, as device dev-old:
--   creates a (…0a), b (…0b), c (…0c); update of a (phone, status verified); delete of b;
--   secret device_token "lbd_legacy_token_123"; regions ["7242"]; acknowledged up to seq 2;
--   pulled: a record d (…0d) of dev-z and a concurrent phone edit of a (one conflict), cursor;
--   c moved out of the regions with its create unsent (hidden, row kept, away mark);
--   a refusal of seq 1 (validation_failed, phone, sealed message).
-- The program: make_store_before_macs.cpp beside this file. Read by
-- tests/engine/store_encryption_test.cpp ("a store made before row MACs ...").
PRAGMA foreign_keys=OFF;
BEGIN TRANSACTION;
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
INSERT INTO meta VALUES('acked_seq','2');
INSERT INTO meta VALUES('crypto','{"kdf":"scrypt","n":32768,"p":1,"r":8,"salt":"nkIogCu+GO8ObAAuE3sTyw==","wrapped":"aqXQ5Ii4Hh7nSiY6Hp3D/17zSiOgaWQqfRCRyYLnFrEqJqsO0i6/tokgNHXF3BR9zRonrHMy9qQp+2ae"}');
INSERT INTO meta VALUES('cursor','v2:1:2');
INSERT INTO meta VALUES('device_id','dev-old');
INSERT INTO meta VALUES('hlc','117722836234141749');
INSERT INTO meta VALUES('regions','["7242"]');
INSERT INTO meta VALUES('schema','bpjs-enrolment');
INSERT INTO meta VALUES('schema_version','1');
INSERT INTO meta VALUES('secret:device_token','qjMCl7aCrNO6FgdvPpTHN+d6RaS+GHh/HzGRKq48+ltjrImKbtxmKuL00Nzux6Mq');
CREATE TABLE records(
  rid INTEGER PRIMARY KEY, col TEXT NOT NULL, id TEXT NOT NULL, doc TEXT NOT NULL,
  ver TEXT NOT NULL, del_hlc INTEGER NOT NULL DEFAULT 0, del_dev TEXT NOT NULL DEFAULT '',
  live INTEGER NOT NULL, scope INTEGER, nkey ANY, sealed BLOB);
INSERT INTO records VALUES(1,'enrolment','0190aaaa-0000-7000-8000-00000000000a','{"created_at":"2025-01-06T00:00:03.306Z","monthly_income":13700001,"officer_id":"OFC-0022","position":"kasi pelayanan","programs":["JKK","JKM"],"status":"verified","village_code":"7242111687"}','{"":[117722836234076160,"dev-old"],"phone":[117722836234141718,"dev-z"],"status":[117722836234076163,"dev-old"]}',0,'',1,7242111687,8486154651721036202,X'a7348301994463cadb981cbda7486900cce09734b1640fc55ea982b681a3c24ae498deef062b171e22acfcd3abdc32bd9701f0a2ce5d1e93273a90d0e42c694affc16e2ed574875417e013a5c1a283249fc3e8185e71986bc9e14de9d4c09114876d6cb8736e9b8d680b84014ee6b72830523d2f7c7f95825b9e3fcaf579db315fa65407bf696e3a51bef644921e');
INSERT INTO records VALUES(2,'enrolment','0190aaaa-0000-7000-8000-00000000000b','{"created_at":"2025-01-06T00:00:03.306Z","monthly_income":13700002,"officer_id":"OFC-0022","position":"kasi pelayanan","programs":["JKK","JKM"],"status":"submitted","village_code":"7242111687"}','{"":[117722836234076161,"dev-old"]}',117722836234141696,'dev-old',0,7242111687,4115869840431745776,X'84eadb735548cd44d363a93db84c906095e748f8db1ffe175c25aafc7761ee784b20d5ed191be6441fdb121f41c60c9d113a5e9e94109bde68505ddfe2d5c7136fdea0f9e58148967b3ad6bcb4f93f32de4d11e18e59879c3943117c9b60df24c09fe61379ac2ea5ca408537fd0dbabe247e13c7da28c159b970297b64fa06d767496c37791dfc3151a26f31f9');
INSERT INTO records VALUES(3,'enrolment','0190aaaa-0000-7000-8000-00000000000c','{"created_at":"2025-01-06T00:00:03.306Z","monthly_income":13700003,"officer_id":"OFC-0022","position":"kasi pelayanan","programs":["JKK","JKM"],"status":"submitted","village_code":"7242111687"}','{"":[117722836234076162,"dev-old"]}',0,'',0,7242111687,2884836726479490079,X'81bdc4b8ceb92a978f00c0115edd1536aaa7e3f445347ee7b19807f56e9de7e19d6608080d9297290f2d70a758a332983a1b651089293a658699d5f130d6e2b9cbbdb448582383dc3e68571c34cc91e49dad68a59c1c01b9181d7c0beca4034fc1275d27d90a3be9f6e4d8effaa3d7779cc41d5a7b09c2ce9ac1617167610a2ee0b2ece712f89095149bc4eed3');
INSERT INTO records VALUES(4,'enrolment','0190aaaa-0000-7000-8000-00000000000d','{"created_at":"2025-01-06T00:00:03.306Z","monthly_income":13700004,"officer_id":"OFC-0022","position":"kasi pelayanan","programs":["JKK","JKM"],"status":"submitted","village_code":"7242111687"}','{"":[117722836234141707,"dev-z"]}',0,'',1,7242111687,49902950077854360,X'cc3b3ab3eccebb7fa996c6ff0b899ab6f6660ddb1ec811d4083200ca177a75917e04aaa3467187ef263a5ae99bc4bba9be2fb8ddd67482c35df92a988ad7a04280de8c0cc5dc31afd95315ab26e51e246f83f974ef1b784cf458885f6fb2c94836a5c4c30c244619fe47f20d97abd8335090110be5f8d5f177ec129e8ca45b12382e8c6298d595e79e710b9d95');
CREATE TABLE changes(
  seq INTEGER PRIMARY KEY, col TEXT NOT NULL, id TEXT NOT NULL, hlc INTEGER NOT NULL,
  wall_ms INTEGER NOT NULL, op TEXT, sealed BLOB);
INSERT INTO changes VALUES(1,'enrolment','0190aaaa-0000-7000-8000-00000000000a',117722836234076160,1796307925935,NULL,NULL);
INSERT INTO changes VALUES(2,'enrolment','0190aaaa-0000-7000-8000-00000000000b',117722836234076161,1796307925935,NULL,NULL);
INSERT INTO changes VALUES(3,'enrolment','0190aaaa-0000-7000-8000-00000000000c',117722836234076162,1796307925935,NULL,NULL);
INSERT INTO changes VALUES(4,'enrolment','0190aaaa-0000-7000-8000-00000000000a',117722836234076163,1796307925935,NULL,X'3d649cc3160ea34d776fc5247595cda992785841ef95fb8036433c5322b1e341cbb9079401c9b2a3abb9b08f618b420fe0fc61eefa6a955759a9fb1828959fe1546e943f52e6bb30f8e0ab5910dffec639632b8c02be59aa4a630d89e1e0f2848f530404e97e22a9c981e63098c725ccb6258b7f899c86e81fd8f317c8d049c5506250509713e6f28cea085b1cce8de1adf6fe0600c95b1b9f07a4ce7917b678e11cc2d8fb25a80bb06b298263864ba77dc92a4cfac4f5330101e395c9519d82d3c748ce2b84ac0fe8373e17a00df8fc4fd9147526d2da11df77dc3f90c0223afa607e15ba1359b74b26a237c699bb27907df9d8c0dc0e43ec45e10c42bf595752ba27df6dfa76');
INSERT INTO changes VALUES(5,'enrolment','0190aaaa-0000-7000-8000-00000000000b',117722836234141696,1796307925936,NULL,X'9a1838a9a0868a8c6be731bec76d767eabf75714ef604599d9e0438e85d89daee8fcb6fc5f0d8912c3e7b36a4aec9b74e7e7e89edacb92ecdaba52b724dbfc9bc81eb65c9503d5ce40ea24df39c2a8d0bac7477390148368a044f39090c996ddd986a7faebae4011fe02d7ecc64641e7b6cba64feea2442ea60a7125f380819deeaad9b0fcad5401fee4447f99963909166749d50267fccdb442cac824849f79ea6f7090c66bdebc32950929b8809e3d71ca10100da0bcac5aefa25c83f119c02bb440354f7b5b32a89a3b21f1f8dab5861f6b8c8c35e7b571b7a632cc8b44005b6ee3b22e9df7f0a108bc4f91d0fe5fe2fa5eb485e22a385b5c8771e782d7bbf51d28acc3dad2bb106aa6d9a3cad0197fe0e1dad65a7a85e708bd0d8ffb05a9cf1ff6258e4ac6fdfea3ebe37084c5371c4740313d720b6d4fb16df3212dc3aed7777c150ead82c0c7382f4a448dcbfb4b0519795f130c767f8a8409afa046306d56c563da0458c789c14611c05e53909aeecaf7a993ff9016136ac17d07b7f59b83667f10f8b6cd05339aa7ff96d5ec2246f92e7dc834827bda7376fbd7d2589c5454d25c00d57f355bae2260175bd5cafa9b0767eef0ed9fdf39c5fdcaed990ad65f7a9af67edfaad0fcf267c77c144d4c2b3a6be88832324802fc2cf5d3bb62eb2f6ba5346cedb916894a7593465a8143d902a213c448957bb8c9da6d8542195eb31e5097c4e577ea5c662ae0de347707704f992841b4d6aa72ccdc2e7a7fa3d6e346551be862600b6e0e2ccb0dcbb8ba92382c02b4ff75284596d83fb669fa2f87db97f01d9faf946ce277140f18ec5673b03f4e1690532235e71f87c33bcf328214e9710cb700274e813f00c72cecb1377829825c50ebdc3e94323fb46decdc8ae308c20b98b5b1e0a336');
CREATE TABLE conflicts(
  cid TEXT PRIMARY KEY, kind TEXT NOT NULL, col TEXT NOT NULL, rid TEXT NOT NULL,
  field TEXT NOT NULL, body TEXT NOT NULL, hi_hlc INTEGER NOT NULL, hi_dev TEXT NOT NULL,
  found_ms INTEGER NOT NULL, resolved INTEGER NOT NULL DEFAULT 0, sealed BLOB);
INSERT INTO conflicts VALUES('415ee50f212e27dfb229acb3bec32fb3','concurrent_update','enrolment','0190aaaa-0000-7000-8000-00000000000a','phone','',117722836234141718,'dev-z',1796307925936,0,X'f1ec567a7513ab84b5558d6848702b02cae97ec9ea76953f586ebf6d10a07b7a583e6f7a4f4ee44d0708b5640f136caa64d945fc4ab86eb8a4db99aafc03205b9dbed8e7ebd6164956190e1bfe40b5cef807026230aa81715b80740255e2ade8ab78f908b1ba6aec6819e1c1fe80c18c469ac74693116bfc43177c4d762e77155b33bba3247371e09259df87947c8a81e991a53eaf7165a767eb82a43f7083a8aeeefb3b218daeb2c8abcdd7b3371631aed8b9be487afb1c8c7985c7c97d6cf6c0d180d73a2aab894cc43c0981cd89955c47ed9364906f0ca9f8e701928d2f258cd149817cdba6b2d7ec5e1e8cc75ea5b9d5af8265023b52c213774802e93a66e8aa02372fcae0c92a7727af0373affec4df90186a8ae0bedf10f3e4a158289e538b700ff4dcd1fb65605f92565a1643fadc81c9584f045798656fa2ccdb77215ba0f6dd2a828186adc2c0e6bd5b50');
CREATE TABLE refused(
  seq INTEGER PRIMARY KEY, col TEXT NOT NULL, rid TEXT NOT NULL, code TEXT NOT NULL,
  field TEXT NOT NULL, message TEXT NOT NULL, at_ms INTEGER NOT NULL, sealed BLOB);
INSERT INTO refused VALUES(1,'enrolment','0190aaaa-0000-7000-8000-00000000000a','validation_failed','phone','',1760000000000,X'43385d264620ef320f6544c7663ab2551b30b5d101574023e456babbd9444887acc0852f2cdaf083dc720edc386bbc22d44de36e232679d8d9c1');
CREATE TABLE away(id TEXT PRIMARY KEY) WITHOUT ROWID;
INSERT INTO away VALUES('0190aaaa-0000-7000-8000-00000000000c');
CREATE UNIQUE INDEX records_id ON records(id);
CREATE INDEX records_scope ON records(scope);
CREATE INDEX records_nkey ON records(nkey) WHERE nkey IS NOT NULL;
CREATE INDEX conflicts_record ON conflicts(col, rid, resolved);
COMMIT;
