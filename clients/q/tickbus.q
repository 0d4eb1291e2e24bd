/ tickbus.q: keep tickbus's tables in memory, subscribed the way kdb+tick's r.q subscribes to a
/ tickerplant. Works against `tickbus kdb serve` and against a tick.q fed by `tickbus kdb publish`.
/ (No line may be a lone slash: in q that opens a block comment, which once hid this whole
/ script. Tests/kdb/test_q_scripts.py checks every q script against q's comment rules.)
/ usage: q tickbus.q [host:port] [table,table,...] [SYM,SYM,...]
/   q tickbus.q                                   / localhost:5010, every table, every symbol
/   q tickbus.q localhost:5010 trade,quote AAPL,MSFT
/ then: select count i by sym from trade / select last bid,last ask by sym from quote

.tb.args:.z.x;
.tb.tp:$[count .tb.args;.tb.args 0;"localhost:5010"];
.tb.tables:$[1<count .tb.args;`$","vs .tb.args 1;enlist`];       / ` is every table
.tb.syms:$[2<count .tb.args;`$","vs .tb.args 2;`];                / ` is every symbol

/ The tickerplant pushes (`upd;`table;table): append the rows.
upd:{[t;x] t insert x};
/ tick.q sends (`.u.end;date) at end of day; tickbus serve does not. Tables are kept either way.
.u.end:{[d] -1 "end of day ",string d;};

.tb.h:hopen `$":",.tb.tp;
/ Each .u.sub reply is (`table;emptySchema), or a list of them for `: create the tables.
.tb.create:{[r] $[0h=type first r;{(x 0) set x 1} each r;(r 0) set r 1]};
.tb.create each {.tb.h(".u.sub";x;.tb.syms)} each .tb.tables;
-1 "subscribed to ",.tb.tp,": ",(", "sv string tables[]),$[null first .tb.syms;"";" for ",", "sv string .tb.syms];

/ If the connection closes, say so (the tables stay, with what they received).
.z.pc:{[h] if[h=.tb.h; -1 "tickerplant connection closed"]};
