// The page sends no REST read of its own while its tab is hidden (Rundeck's
// hidden tabs kept polling): such reads wait here until the tab shows again.
export function whenVisible(): Promise<void> {
  if (!document.hidden) return Promise.resolve();
  return new Promise((resolve) => {
    const shown = () => {
      if (document.hidden) return;
      document.removeEventListener('visibilitychange', shown);
      resolve();
    };
    document.addEventListener('visibilitychange', shown);
  });
}
