// chartjs-adapter-date-fns ships no types; it is imported only for its side effect (registering
// the date adapter chart.js's time scale uses).
declare module "chartjs-adapter-date-fns";
