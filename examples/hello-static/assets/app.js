document.getElementById('status').textContent = 'Served by studyhub-sandbox at ' + location.pathname;
