-- A new card's number is checked against every order ever stored: without
-- this index each order scanned the whole table, and a school's September
-- burst cost time quadratic in the register's size.
CREATE INDEX orders_card_number ON orders (card_number);
