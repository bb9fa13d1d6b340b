-- Run once by the postgres image when its data volume is new
-- (docker-entrypoint-initdb.d). The tracker store's database "rasa" is
-- created by POSTGRES_DB; the callback requests get their own database.
CREATE DATABASE callbacks OWNER rasa;
