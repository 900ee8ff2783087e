// LangGraph's own graphs equivalent to the two workflows the SDK test drives on Sessions (the appointment sample and
// the slow lookup), for LangGraph's in-memory server (`langgraphjs dev`) in the comparison. An ask is an interrupt
// whose value is the hint Sessions sends; a pause is an interrupt too. Only the protocol's shape is compared.
import { Annotation, END, MessagesAnnotation, START, StateGraph, interrupt } from "@langchain/langgraph";
import { AIMessage, HumanMessage } from "@langchain/core/messages";

const say = (text) => async (state) => ({ messages: [new AIMessage(typeof text === "function" ? text(state) : text)] });
const ask = (node, variable, prompt, input) => async () => {
  const answer = interrupt({ node_id: node, prompt, input });
  return { [variable]: answer, messages: [new HumanMessage(String(answer))] };
};

const Appointment = Annotation.Root({
  ...MessagesAnnotation.spec,
  service: Annotation(),
  date: Annotation(),
  slot: Annotation(),
  reminder: Annotation(),
});

export const appointments = new StateGraph(Appointment)
  .addNode("hello", say("Let's book your appointment."))
  .addNode("ask_service", ask("ask_service", "service", "Which service do you need?", { kind: "choice", options: [{ value: "checkup", label: "General check-up" }, { value: "dental", label: "Dental cleaning" }, { value: "vaccine", label: "Vaccination" }] }))
  .addNode("ask_date", ask("ask_date", "date", "Which day? (YYYY-MM-DD)", { kind: "text" }))
  .addNode("ask_slot", ask("ask_slot", "slot", "Morning or afternoon?", { kind: "choice", options: [{ value: "morning", label: "Morning" }, { value: "afternoon", label: "Afternoon" }] }))
  .addNode("hold", say((s) => `I've asked the clinic to hold a ${s.service} appointment on ${s.date} (${s.slot}).`))
  .addNode("wait_for_clinic", async () => { interrupt({ paused: true, node_id: "wait_for_clinic" }); return {}; })
  .addNode("confirmed", say((s) => `Good news: the clinic confirmed ${s.date} (${s.slot}).`))
  .addNode("ask_reminder", ask("ask_reminder", "reminder", "Shall we send a reminder the day before?", { kind: "boolean" }))
  .addNode("bye", say((s) => `All set. ${s.reminder ? "We'll remind you." : "No reminder will be sent."} See you then!`))
  .addEdge(START, "hello")
  .addEdge("hello", "ask_service")
  .addEdge("ask_service", "ask_date")
  .addEdge("ask_date", "ask_slot")
  .addEdge("ask_slot", "hold")
  .addEdge("hold", "wait_for_clinic")
  .addEdge("wait_for_clinic", "confirmed")
  .addEdge("confirmed", "ask_reminder")
  .addEdge("ask_reminder", "bye")
  .addEdge("bye", END)
  .compile();

const Lookup = Annotation.Root({ ...MessagesAnnotation.spec, topic: Annotation(), answer: Annotation() });

export const lookup = new StateGraph(Lookup)
  .addNode("greet", say("Hello."))
  .addNode("ask_topic", ask("ask_topic", "topic", "What shall I look up?", { kind: "text" }))
  .addNode("lookup", async () => { await new Promise((resolve) => setTimeout(resolve, 1500)); return { answer: "42" }; })
  .addNode("tell", say((s) => `${s.topic}: ${s.answer}`))
  .addEdge(START, "greet")
  .addEdge("greet", "ask_topic")
  .addEdge("ask_topic", "lookup")
  .addEdge("lookup", "tell")
  .addEdge("tell", "ask_topic")
  .compile();
