// The app's entry point: mounts the lab, or a student's ranking page when the address ends in
// #pack or #pack=CODE (a ranking pack's link).
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { isStudentPage } from './store/classStore.ts';
import { App } from './ui/App.tsx';
import { StudentPack } from './ui/StudentPack.tsx';
import './ui/styles.css';

createRoot(document.getElementById('root')!).render(
  <StrictMode>{isStudentPage(window.location.hash) ? <StudentPack /> : <App />}</StrictMode>,
);
