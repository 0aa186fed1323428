export const dynamic = "force-dynamic";

export default function Home() {
  return <p id="pid">{process.pid}</p>;
}
