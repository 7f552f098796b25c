import { useState } from 'react';
import logo from './logo.svg';

export default function App() {
  const [count, setCount] = useState(0);
  return (
    <main>
      <img src={logo} alt="Studyhub" width="96" height="96" />
      <h1>Hello from a Studyhub sandbox</h1>
      <button onClick={() => setCount((c) => c + 1)}>clicked {count} times</button>
    </main>
  );
}
