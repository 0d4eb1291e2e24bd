/ tickbus tables for an unmodified kdb+tick: copy this file to kdb-tick's tick/sym.q, then
/   q tick.q sym <logdir> -p 5010
/ Every table starts with time and sym, as tick.q requires.
/   time       timespan  stamped by the tickerplant on arrival (tick.q's .u.upd adds it: tickbus
/                        sends every column but time)
/   eventTime  timestamp the event's own UTC time, with its date (for a bar: the bar's start)
/   recvTime   timestamp when tickbus received or built the record, UTC
/ Prices and sizes are floats (null price: 0n). cond in trade holds one short vector per row
/ (the sale conditions), id one string per row (the trade id). See docs/kdb.md.
trade:([]time:`timespan$();sym:`g#`symbol$();eventTime:`timestamp$();recvTime:`timestamp$();price:`float$();size:`float$();exchange:`short$();tape:`short$();cond:();id:();seq:`long$())
quote:([]time:`timespan$();sym:`g#`symbol$();eventTime:`timestamp$();recvTime:`timestamp$();bid:`float$();ask:`float$();bsize:`float$();asize:`float$();bex:`short$();aex:`short$();cond:`short$();tape:`short$();seq:`long$())
bar:([]time:`timespan$();sym:`g#`symbol$();eventTime:`timestamp$();recvTime:`timestamp$();span:`timespan$();src:`symbol$();open:`float$();high:`float$();low:`float$();close:`float$();volume:`float$();vwap:`float$();trades:`long$();rev:`boolean$())
/ HISTORICAL records (backfills), when tickbus kdb publish runs with --historical-tables
tradeHist:trade
quoteHist:quote
barHist:bar
